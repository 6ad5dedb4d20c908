/**
 * The PP791 suite, played by the diagnostics runner, against the PP791 simulator over real ptys:
 * healthy and with each simulator fault. Link timers are shortened so the fault cases finish fast.
 */
import { describe, expect, it } from 'vitest';
import type { DiagnosticRunResult } from '@emdad/domain';
import { Pp791Driver } from './pp791.ts';
import { Pp791Simulator, loadPp791Scenario } from '../simulators/pp791-sim.ts';
import { SIMULATOR_FAULTS, type SimulatorFault } from '../simulators/simulator.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { runDiagnostics } from '../diagnostics/runner.ts';
import { PP791_TERMINAL_SUITE } from '../diagnostics/suites.ts';

/** A fresh pty pair and simulator per run: nothing a previous run left in flight can leak in. */
async function run(faults: SimulatorFault[]): Promise<DiagnosticRunResult> {
  const pair: PtyPair = await startPtyPair();
  const device = new SerialTransport({ path: pair.devicePath, baudRate: 19200 });
  await device.open();
  // The unplug fault really pulls the port (stops socat), as `npm run simulate` does.
  const sim = new Pp791Simulator(await loadPp791Scenario('healthy'), {
    resendAfterMs: 1000,
    slowExtraMs: 6000,
    onUnplug: () => void pair.stop(),
  });
  sim.attach(device);
  sim.setFaults(faults);
  const driver = new Pp791Driver(new SerialTransport({ path: pair.hostPath, baudRate: 19200 }), {
    ackTimeoutMs: 1000,
    responseTimeoutMs: 2500,
    eotTimeoutMs: 1000,
  });
  try {
    return await runDiagnostics({ driver, suite: PP791_TERMINAL_SUITE, port: pair.hostPath });
  } finally {
    await driver
      .close({ signal: new AbortController().signal, log: () => undefined, prompt: () => undefined })
      .catch(() => undefined);
    sim.detach();
    await device.close();
    await pair.stop();
  }
}

const status = (r: DiagnosticRunResult, id: string) => r.steps.find((s) => s.id === id)?.status;

describe('PP791 suite over ptys', () => {
  it('healthy: identity, checks pass, unsupported checks say so', async () => {
    const result = await run([]);
    expect(result.identity?.serialNumber).toBe('791A23004512');
    for (const id of ['open', 'identify', 'self_test', 'hardware', 'master_key', 'baud_rate'])
      expect(status(result, id), id).toBe('pass');
    for (const id of ['display', 'keypad', 'card_events']) {
      const step = result.steps.find((s) => s.id === id);
      expect(step?.status).toBe('not_supported');
      expect(step?.message).toMatch(/not supported by this device's protocol/i);
    }
    expect(result.errorCodes).toEqual([]);
    expect(result.steps.find((s) => s.id === 'self_test')?.frames.length).toBeGreaterThan(0);
  });

  const expected: Record<SimulatorFault, { code: string | null; failedStep?: string }> = {
    bad_checksum: { code: 'DIAG-LINK-002', failedStep: 'open' },
    missing_ack: { code: 'DIAG-LINK-001', failedStep: 'open' },
    nak_storm: { code: 'DIAG-LINK-002', failedStep: 'open' },
    // ACKed, then silent past the answer timeout with the port still there: no answer.
    slow: { code: 'DIAG-LINK-001', failedStep: 'open' },
    garbage: { code: null },
    unplug_mid_command: { code: 'DIAG-LINK-003', failedStep: 'open' },
    keypad_failure: { code: null }, // no keypad test in this dialect
    card_reader_failure: { code: null }, // visible in the hardware list, not a link error
  };

  for (const fault of SIMULATOR_FAULTS) {
    it(`fault ${fault}`, async () => {
      const started = Date.now();
      const result = await run([fault]);
      const want = expected[fault];
      const trace = JSON.stringify(
        result.steps.map((s) => [
          s.id,
          s.status,
          s.errorCode,
          s.message,
          s.frames.map((f) => `${f.direction}:${f.hex}`).join(' '),
        ]),
      );
      if (want.code === null) {
        expect(status(result, 'self_test'), trace).toBe('pass');
        if (fault === 'card_reader_failure') {
          expect(result.steps.find((s) => s.id === 'hardware')?.values).toMatchObject({
            magneticStripeReader: false,
            smartCardReader: false,
          });
        }
      } else {
        expect(result.errorCodes).toContain(want.code);
        const failed = result.steps.find((s) => s.id === want.failedStep);
        expect(failed?.status).toBe('fail');
        expect(failed?.errorCode).toBe(want.code);
        expect(failed?.frames.length).toBeGreaterThan(0);
        expect(status(result, 'self_test')).toBe('skipped');
        expect(result.verdict).toBe('incomplete');
      }
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  }
});
