/**
 * Auto-detect with the production protocol list (ABECS first, then the STX dialect 8N1/7E1, then
 * 7E1 with software parity) against the PP791 simulator on a real pty: the ABECS probe must not
 * upset it, and both an 8N1 and a 7E1 unit are recognised in bounded time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { autoDetect } from '../diagnostics/auto-detect.ts';
import { DEFAULT_SERIAL_PROTOCOLS } from '../service/default-service.ts';
import { Pp791Simulator, loadPp791Scenario } from '../simulators/pp791-sim.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { startPtyPair } from '../testing/pty-pair.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
});

async function detect(scenario: string) {
  const pair = await startPtyPair();
  cleanups.push(() => pair.stop());
  const device = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
  await device.open();
  const sim = new Pp791Simulator(await loadPp791Scenario(scenario));
  sim.attach(device);
  cleanups.push(async () => {
    sim.detach();
    await device.close();
  });
  const started = Date.now();
  const result = await autoDetect({
    path: pair.hostPath,
    candidates: DEFAULT_SERIAL_PROTOCOLS,
    createTransport: (path, settings) => new SerialTransport({ path, ...settings }),
    probeTimeoutMs: 1500,
    overallTimeoutMs: 30_000,
  });
  if (result.found) cleanups.push(() => result.transport.close());
  return { result, elapsedMs: Date.now() - started, sim };
}

describe('auto-detect finds a PP791-dialect terminal', () => {
  it('on an 8N1 line', async () => {
    const { result, elapsedMs } = await detect('healthy');
    expect(result.found).toBe(true);
    if (!result.found) return;
    expect(result.protocol).toBe('stx');
    expect(result.family).toBe('pp791_terminal');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['no_answer', 'recognised']);
    const identity = await result.driver.identify({
      signal: new AbortController().signal,
      log: () => undefined,
      prompt: () => undefined,
    });
    expect(identity.serialNumber).toBe('791A23004512');
    expect(elapsedMs).toBeLessThan(15_000);
  });

  it('on a 7E1 line carried over 8 bits (parity in software)', async () => {
    const { result, elapsedMs } = await detect('hardware-fault');
    expect(result.found).toBe(true);
    if (!result.found) return;
    expect(result.family).toBe('pp791_terminal');
    const ctx = { signal: new AbortController().signal, log: () => undefined, prompt: () => undefined };
    expect(await result.driver.runCheck('self_test', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-HW-001',
    });
    expect(elapsedMs).toBeLessThan(30_000);
  });
});
