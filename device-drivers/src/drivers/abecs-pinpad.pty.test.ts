/**
 * The ABECS driver and the diagnostics runner against the ABECS simulator over real pseudo-terminals
 * (socat pairs, `serialport` on both ends): the full suite healthy and under each fault, a cable
 * pulled mid-command (socat killed by PID) and the port opened again, and the simulator running as
 * a separate process through `simulators/cli.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPtyPair } from '../testing/pty-pair.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { AbecsPinpadSimulator, loadAbecsScenario } from '../simulators/abecs-pinpad-sim.ts';
import type { SimulatorFault } from '../simulators/simulator.ts';
import { runDiagnostics, type DiagnosticProgressEvent } from '../diagnostics/runner.ts';
import { ABECS_PINPAD_SUITE } from '../diagnostics/suites.ts';
import { AbecsPinpadDriver, type AbecsDriverOptions } from './abecs-pinpad.ts';
import type { DriverContext } from './driver.ts';

const FAST: AbecsDriverOptions = {
  timings: {
    ackTimeoutMs: 400,
    responseTimeoutMs: 1200,
    silenceMs: 100,
    maxDiscardMs: 1500,
    interByteTimeoutMs: 400,
    eotTimeoutMs: 400,
  },
  keyTimeoutMs: 800,
  eventTimeoutS: 1,
};

let counter = 0;
const linkPath = () => join(tmpdir(), `ttyEMDAD-abecs-${process.pid}-${++counter}`);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function simulatedPinpad(scenario: string, faults: SimulatorFault[], link = linkPath()) {
  const pair = await startPtyPair({ link });
  cleanups.push(() => pair.stop());
  const deviceEnd = new SerialTransport({ path: pair.devicePath });
  await deviceEnd.open();
  cleanups.push(() => deviceEnd.close());
  const sim = new AbecsPinpadSimulator(await loadAbecsScenario(scenario), { slowExtraMs: 2000 });
  sim.setFaults(faults);
  sim.attach(deviceEnd);
  cleanups.push(async () => sim.detach());
  const host = new SerialTransport({ path: link, baudRate: 19200 });
  await host.open();
  cleanups.push(() => host.close());
  return { pair, host, sim, link };
}

async function runSuite(
  host: SerialTransport,
  options: { signal?: AbortSignal; onProgress?: (e: DiagnosticProgressEvent) => void } = {},
) {
  const driver = new AbecsPinpadDriver(host, FAST);
  return runDiagnostics({
    driver,
    suite: ABECS_PINPAD_SUITE,
    port: host.info.path,
    cleanupTimeoutMs: 3000,
    ...options,
  });
}

describe('ABECS suite over socat ptys, simulator in-process', () => {
  it('healthy PinPad: every step passes, identity and frames recorded', async () => {
    const { host } = await simulatedPinpad('healthy', []);
    const result = await runSuite(host);
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([
      ['open', 'pass'],
      ['identify', 'pass'],
      ['display', 'pass'],
      ['keypad', 'pass'],
      ['card_events', 'pass'],
      ['key_slots', 'pass'],
      ['close', 'pass'],
    ]);
    expect(result.verdict).toBe('healthy');
    expect(result.identity).toMatchObject({
      serialNumber: '5C123456',
      manufacturer: 'INGENICO',
      model: 'PPC930',
    });
    expect(result.steps[0]?.frames.some((f) => f.hex === '164f504e17a8a9')).toBe(true);
  });

  it.each([
    ['missing_ack', 'open', 'DIAG-LINK-001'],
    ['nak_storm', 'open', 'DIAG-LINK-002'],
    ['bad_checksum', 'open', 'DIAG-LINK-002'],
    ['slow', 'open', 'DIAG-LINK-001'],
    ['keypad_failure', 'keypad', 'DIAG-KEY-001'],
    ['card_reader_failure', 'card_events', 'DIAG-CARD-001'],
  ] as const)('fault %s: step %s fails with %s', async (fault, stepId, code) => {
    const { host } = await simulatedPinpad('healthy', [fault]);
    const result = await runSuite(host);
    const step = result.steps.find((s) => s.id === stepId);
    expect(step).toMatchObject({ status: 'fail', errorCode: code });
    expect(step?.frames.length).toBeGreaterThan(0);
    expect(result.errorCodes).toContain(code);
    expect(result.verdict).not.toBe('healthy');
  });

  it('garbage on the line does not break the suite', async () => {
    const { host } = await simulatedPinpad('healthy', ['garbage']);
    const result = await runSuite(host);
    expect(result.verdict).toBe('healthy');
  });

  it('no keys loaded: key_slots fails with DIAG-SEC-001', async () => {
    const { host } = await simulatedPinpad('no-keys', []);
    const result = await runSuite(host);
    expect(result.steps.find((s) => s.id === 'key_slots')).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-SEC-001',
    });
  });

  it('cable pulled mid-command (socat killed): DIAG-LINK-003 in bounded time, then the port opens again', async () => {
    const link = linkPath();
    const first = await simulatedPinpad('healthy', ['keypad_failure'], link);
    const driverOptions = { ...FAST, keyTimeoutMs: 30_000 };
    const driver = new AbecsPinpadDriver(first.host, driverOptions);
    let killedAt = 0;
    const run = runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: link,
      cleanupTimeoutMs: 2000,
      onProgress: (e) => {
        if (e.type === 'step_started' && e.stepId === 'keypad') {
          setTimeout(() => {
            killedAt = Date.now();
            void first.pair.stop();
          }, 300);
        }
      },
    });
    const result = await run;
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(result.errorCodes).toContain('DIAG-LINK-003');
    expect(result.steps.find((s) => s.id === 'keypad')).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-LINK-003',
    });
    expect(first.host.isOpen).toBe(false);

    // Plug back in: a new socat on the same path; the same transport object opens again.
    const second = await startPtyPair({ link });
    cleanups.push(() => second.stop());
    const deviceEnd = new SerialTransport({ path: second.devicePath });
    await deviceEnd.open();
    cleanups.push(() => deviceEnd.close());
    const sim = new AbecsPinpadSimulator(await loadAbecsScenario('healthy'));
    sim.attach(deviceEnd);
    cleanups.push(async () => sim.detach());
    await first.host.open();
    const again = new AbecsPinpadDriver(first.host, FAST);
    const ctx: DriverContext = {
      signal: new AbortController().signal,
      log: () => undefined,
      prompt: () => undefined,
    };
    await again.open(ctx);
    expect((await again.identify(ctx)).serialNumber).toBe('5C123456');
  });

  it('probe recognises the PinPad within the time given', async () => {
    const { host } = await simulatedPinpad('healthy', []);
    const driver = new AbecsPinpadDriver(host);
    const ctx: DriverContext = {
      signal: new AbortController().signal,
      log: () => undefined,
      prompt: () => undefined,
    };
    expect(await driver.probe(ctx, 1500)).toBe(true);
  });
});

describe('simulator as a separate process (simulators/cli.ts)', () => {
  const cli = fileURLToPath(new URL('../simulators/cli.ts', import.meta.url));

  function startCli(args: string[]): {
    child: ChildProcess;
    lines: string[];
    waitFor: (re: RegExp, ms?: number) => Promise<string>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });
    const lines: string[] = [];
    const listeners = new Set<() => void>();
    const onText = (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      for (const l of listeners) l();
    };
    child.stdout?.on('data', onText);
    child.stderr?.on('data', onText);
    let seen = 0;
    const waitFor = (re: RegExp, ms = 15_000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          for (; seen < lines.length; seen++) {
            const line = lines[seen] as string;
            if (re.test(line)) {
              seen++;
              listeners.delete(check);
              clearTimeout(timer);
              resolve(line);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no line matching ${re} in: ${lines.join(' | ')}`));
        }, ms);
        listeners.add(check);
        check();
      });
    return { child, lines, waitFor };
  }

  it('serves the PinPad on --link, really unplugs on unplug_mid_command, comes back, and removes socat on SIGTERM', async () => {
    const link = linkPath();
    const sim = startCli([
      '--device',
      'abecs',
      '--link',
      link,
      '--scenario',
      'healthy',
      '--replug-ms',
      '500',
    ]);
    await sim.waitFor(/^READY /);
    const host = new SerialTransport({ path: link });
    await host.open();
    cleanups.push(() => host.close());
    const ctx: DriverContext = {
      signal: new AbortController().signal,
      log: () => undefined,
      prompt: () => undefined,
    };
    const driver = new AbecsPinpadDriver(host, FAST);
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBe('5C123456');

    // Switch the running simulator's faults from stdin: the next command is cut by pulling the cable.
    sim.child.stdin?.write('faults unplug_mid_command\n');
    await sim.waitFor(/^FAULTS unplug_mid_command/);
    const started = Date.now();
    // The simulator cuts the 2nd command after the fault is switched on: the display test's 2nd DSP.
    await expect(driver.runCheck('display', ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-003' });
    expect(Date.now() - started).toBeLessThan(5000);
    await sim.waitFor(/^UNPLUGGED /);
    await sim.waitFor(/^READY /);
    sim.child.stdin?.write('faults none\n');
    await sim.waitFor(/^FAULTS none/);
    await host.open();
    const again = new AbecsPinpadDriver(host, FAST);
    await again.open(ctx);
    expect((await again.runCheck('display', ctx)).status).toBe('pass');
    await again.close(ctx);
    await host.close();

    sim.child.kill('SIGTERM');
    await new Promise((r) => sim.child.once('exit', r));
    expect(existsSync(link)).toBe(false);
  });

  it('refuses an unknown fault with a usage message', async () => {
    const sim = startCli(['--device', 'abecs', '--link', linkPath(), '--fault', 'melted']);
    await sim.waitFor(/Unknown fault "melted"/);
    const code = await new Promise((r) => sim.child.once('exit', r));
    expect(code).toBe(2);
  });
});
