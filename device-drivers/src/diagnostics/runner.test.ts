import type { DiagnosticStepResult } from '@emdad/domain';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DriverError, type DriverCheckResult, type DriverContext } from '../drivers/driver.ts';
import { TransportError } from '../transport/transport.ts';
import { FakeDriver, hangUntilAborted, pass } from './fake-driver.test-support.ts';
import {
  CANCELLED_MESSAGE,
  NOT_SUPPORTED_MESSAGE,
  RUNNER_MESSAGES,
  computeVerdict,
  runDiagnostics,
  type DiagnosticProgressEvent,
} from './runner.ts';
import { ABECS_PINPAD_SUITE, PP791_TERMINAL_SUITE } from './suites.ts';

afterEach(() => {
  vi.useRealTimers();
});

function collect(): { events: DiagnosticProgressEvent[]; onProgress: (e: DiagnosticProgressEvent) => void } {
  const events: DiagnosticProgressEvent[] = [];
  return { events, onProgress: (e) => events.push(e) };
}

describe('runDiagnostics', () => {
  it('runs every step of a healthy device in order and reports healthy, with identity and frames', async () => {
    const driver = new FakeDriver();
    const { events, onProgress } = collect();
    const result = await runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: '/dev/ttyUSB0',
      onProgress,
    });

    expect(result.verdict).toBe('healthy');
    expect(result.errorCodes).toEqual([]);
    expect(result.steps.map((s) => [s.id, s.status])).toEqual([
      ['open', 'pass'],
      ['identify', 'pass'],
      ['display', 'pass'],
      ['keypad', 'pass'],
      ['card_events', 'pass'],
      ['key_slots', 'pass'],
      ['close', 'pass'],
    ]);
    expect(driver.calls).toEqual([
      'open',
      'identify',
      'check:display',
      'check:keypad',
      'check:card_events',
      'check:key_slots',
      'close',
    ]);
    expect(result.identity?.serialNumber).toBe('SN123456');
    expect(result.steps[1]?.values).toMatchObject({ model: 'PP-1000', serialNumber: 'SN123456' });
    expect(result.steps[0]?.frames).toEqual([
      { direction: 'tx', hex: '164f504e17', at: 1 },
      { direction: 'rx', hex: '06', at: 2 },
    ]);
    expect(result.steps[2]?.frames).toEqual([]);
    expect(result.port).toBe('/dev/ttyUSB0');
    expect(result.family).toBe('abecs_pinpad');
    expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt));

    expect(events[0]?.type).toBe('run_started');
    expect(events.at(-1)).toEqual({ type: 'run_finished', result });
    const order = events
      .filter((e) => e.type === 'step_started' || e.type === 'step_finished')
      .map((e) => `${e.type}:${'stepId' in e ? e.stepId : ''}`);
    expect(order.slice(0, 4)).toEqual([
      'step_started:open',
      'step_finished:open',
      'step_started:identify',
      'step_finished:identify',
    ]);
  });

  it('reports checks the protocol does not offer as not_supported without calling the driver', async () => {
    const driver = new FakeDriver({
      family: 'pp791_terminal',
      protocol: 'stx',
      checks: ['self_test', 'hardware'],
    });
    const result = await runDiagnostics({ driver, suite: PP791_TERMINAL_SUITE, port: 'p' });
    const byId = new Map(result.steps.map((s) => [s.id, s]));
    expect(byId.get('self_test')?.status).toBe('pass');
    expect(byId.get('keypad')?.status).toBe('not_supported');
    expect(byId.get('keypad')?.message).toBe(NOT_SUPPORTED_MESSAGE);
    expect(driver.calls).not.toContain('check:keypad');
    expect(driver.calls).not.toContain('check:master_key');
    expect(result.verdict).toBe('healthy');
  });

  it('forwards driver prompts as progress events of the running step', async () => {
    const driver = new FakeDriver({
      check: {
        keypad: async (ctx) => {
          ctx.prompt({ en: 'Press 1 2 3', fa: '۱ ۲ ۳ را بزنید' });
          return pass({ keysPressed: 3 });
        },
      },
    });
    const { events, onProgress } = collect();
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p', onProgress });
    const prompt = events.find((e) => e.type === 'prompt');
    expect(prompt).toMatchObject({ type: 'prompt', stepId: 'keypad', message: { en: 'Press 1 2 3' } });
    expect(result.steps.find((s) => s.id === 'keypad')?.values).toEqual({ keysPressed: 3 });
  });

  it('fails a step that overruns its timeout with DIAG-TIME-001, cancels the command and continues', async () => {
    vi.useFakeTimers();
    const driver = new FakeDriver({ check: { keypad: (ctx) => hangUntilAborted(ctx) } });
    const run = runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    await vi.advanceTimersByTimeAsync(ABECS_PINPAD_SUITE.steps.find((s) => s.id === 'keypad')!.timeoutMs + 1);
    const result = await run;
    const keypad = result.steps.find((s) => s.id === 'keypad');
    expect(keypad).toMatchObject({ status: 'fail', errorCode: 'DIAG-TIME-001' });
    expect(driver.calls).toContain('cancel');
    expect(driver.calls.indexOf('cancel')).toBeLessThan(driver.calls.indexOf('check:card_events'));
    expect(result.steps.find((s) => s.id === 'close')?.status).toBe('pass');
    expect(result.verdict).toBe('faulty');
    expect(result.errorCodes).toEqual(['DIAG-TIME-001']);
  });

  it('a timeout on a stop-on-failure step skips the rest', async () => {
    vi.useFakeTimers();
    const driver = new FakeDriver({ open: (ctx) => hangUntilAborted(ctx) });
    const run = runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    await vi.advanceTimersByTimeAsync(ABECS_PINPAD_SUITE.steps[0]!.timeoutMs + 1);
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await run;
    expect(result.steps[0]).toMatchObject({ status: 'fail', errorCode: 'DIAG-TIME-001' });
    expect(result.steps.slice(1).every((s) => s.status === 'skipped')).toBe(true);
    expect(result.verdict).toBe('incomplete');
  });

  it('cancel stops the current step, tells the driver, skips the rest, and closes the device', async () => {
    const controller = new AbortController();
    const driver = new FakeDriver({
      check: {
        keypad: (ctx) => {
          queueMicrotask(() => controller.abort());
          return hangUntilAborted(ctx);
        },
      },
    });
    const result = await runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
      signal: controller.signal,
    });
    const statuses = Object.fromEntries(result.steps.map((s) => [s.id, s.status]));
    expect(statuses).toEqual({
      open: 'pass',
      identify: 'pass',
      display: 'pass',
      keypad: 'skipped',
      card_events: 'skipped',
      key_slots: 'skipped',
      close: 'skipped',
    });
    expect(result.steps.find((s) => s.id === 'keypad')?.message).toBe(CANCELLED_MESSAGE);
    expect(driver.calls.slice(-2)).toEqual(['cancel', 'close']);
    expect(driver.calls).not.toContain('check:card_events');
    expect(result.verdict).toBe('incomplete');
  });

  it('a run cancelled before it starts runs nothing on the device', async () => {
    const controller = new AbortController();
    controller.abort();
    const driver = new FakeDriver();
    const result = await runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
      signal: controller.signal,
    });
    expect(result.steps.every((s) => s.status === 'skipped')).toBe(true);
    expect(driver.calls).not.toContain('open');
  });

  it('a handshake failure stops the suite, keeps the driver error frames and reports incomplete', async () => {
    const driver = new FakeDriver({
      open: async () => {
        throw new DriverError('DIAG-LINK-001', 'No ACK to OPN after 3 tries', {
          frames: [
            { direction: 'tx', hex: '164f504e17', at: 1 },
            { direction: 'tx', hex: '164f504e17', at: 3 },
          ],
        });
      },
    });
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    expect(result.steps[0]).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-LINK-001',
      message: 'No ACK to OPN after 3 tries',
    });
    // ctx.log frames and the error's frames, without duplicates, in time order.
    expect(result.steps[0]?.frames.map((f) => f.at)).toEqual([1, 2, 3]);
    expect(result.steps.slice(1).map((s) => s.status)).toEqual(Array(6).fill('skipped'));
    expect(result.verdict).toBe('incomplete');
    expect(result.errorCodes).toEqual(['DIAG-LINK-001']);
  });

  it('a link lost mid-run (abort with a TransportError) fails the step with DIAG-LINK-003 without talking to the device again', async () => {
    const controller = new AbortController();
    const driver = new FakeDriver({
      check: {
        display: (ctx) => {
          queueMicrotask(() => controller.abort(new TransportError('unplugged', 'The device was unplugged')));
          return hangUntilAborted(ctx);
        },
      },
    });
    const result = await runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
      signal: controller.signal,
    });
    expect(result.steps.find((s) => s.id === 'display')).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-LINK-003',
    });
    expect(driver.calls).not.toContain('cancel');
    expect(driver.calls).not.toContain('close');
    expect(result.verdict).toBe('incomplete');
  });

  it('a transport error thrown by the driver stops the run as link lost', async () => {
    const driver = new FakeDriver({
      check: {
        display: async () => {
          throw new TransportError('unplugged', 'gone');
        },
      },
    });
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    expect(result.steps.find((s) => s.id === 'display')?.errorCode).toBe('DIAG-LINK-003');
    expect(result.steps.find((s) => s.id === 'keypad')?.status).toBe('skipped');
    expect(driver.calls).not.toContain('close');
  });

  it('a device fault stays faulty even if the run later ends early', async () => {
    const driver = new FakeDriver({
      check: {
        keypad: async () => ({
          status: 'fail',
          values: { keysPressed: 0, expected: 12 },
          errorCode: 'DIAG-KEY-001',
          message: 'No key registered',
        }),
        card_events: async () => {
          throw new DriverError('DIAG-LINK-003', 'Device stopped answering');
        },
      },
    });
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    expect(result.verdict).toBe('faulty');
    expect(result.errorCodes).toEqual(['DIAG-KEY-001', 'DIAG-LINK-003']);
  });

  it('a warning makes the verdict degraded; checksum errors on one check do not stop the suite', async () => {
    const driver = new FakeDriver({
      check: {
        key_slots: async () => ({
          status: 'warn',
          values: { loaded: 1 },
          errorCode: 'DIAG-SEC-001',
          message: 'Only one key slot loaded',
        }),
        display: async () => {
          throw new DriverError('DIAG-LINK-002', 'CRC errors');
        },
      },
    });
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    expect(result.steps.find((s) => s.id === 'keypad')?.status).toBe('pass');
    expect(result.verdict).toBe('faulty');
    const warnOnly = await runDiagnostics({
      driver: new FakeDriver({
        check: {
          key_slots: async () => ({ status: 'warn', values: {}, errorCode: 'DIAG-SEC-001', message: 'x' }),
        },
      }),
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
    });
    expect(warnOnly.verdict).toBe('degraded');
    expect(warnOnly.errorCodes).toEqual(['DIAG-SEC-001']);
  });

  it('unexpected exceptions become a failed step, not a crashed run; a throwing listener is ignored', async () => {
    const driver = new FakeDriver({
      check: {
        display: () => {
          throw new RangeError('boom');
        },
      },
    });
    const result = await runDiagnostics({
      driver,
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
      onProgress: () => {
        throw new Error('listener broke');
      },
    });
    expect(result.steps.find((s) => s.id === 'display')).toMatchObject({ status: 'fail', errorCode: null });
    expect(result.steps.find((s) => s.id === 'display')?.message).toContain('boom');
    expect(result.steps.find((s) => s.id === 'close')?.status).toBe('pass');
  });

  it('titles and the runner’s own messages follow the requested language', async () => {
    const result = await runDiagnostics({
      driver: new FakeDriver({ checks: ['display'] }),
      suite: ABECS_PINPAD_SUITE,
      port: 'p',
      language: 'fa',
    });
    expect(result.steps[0]?.title).toBe('اتصال و دست‌دهی');
    expect(result.steps.find((s) => s.id === 'keypad')?.message).toBe(RUNNER_MESSAGES.notSupported.fa);
  });
});

describe('computeVerdict', () => {
  const base = { title: 't', values: {}, message: null, frames: [], durationMs: 0 };
  it('a failing close alone only degrades a device that passed everything', () => {
    const steps: DiagnosticStepResult[] = ABECS_PINPAD_SUITE.steps.map((s) => ({
      ...base,
      id: s.id,
      status: 'pass',
      errorCode: null,
    }));
    expect(computeVerdict(steps, ABECS_PINPAD_SUITE)).toBe('healthy');
    steps[steps.length - 1] = { ...base, id: 'close', status: 'fail', errorCode: null };
    expect(computeVerdict(steps, ABECS_PINPAD_SUITE)).toBe('degraded');
  });
});

describe('runDiagnostics with a driver that takes one command at a time', () => {
  it('waits for an abandoned command to unwind (bounded) before the next step', async () => {
    vi.useFakeTimers();
    let busy = false;
    /** Like a real link: a command aborted mid-way still needs a moment for its CAN/EOT exchange. */
    const command = (ctx: DriverContext, forever: boolean): Promise<DriverCheckResult> => {
      if (busy) return Promise.reject(new Error('one command at a time'));
      busy = true;
      return new Promise((resolve, reject) => {
        const done = () => {
          busy = false;
        };
        if (!forever) {
          setTimeout(() => {
            done();
            resolve(pass());
          }, 10);
        }
        ctx.signal.addEventListener('abort', () =>
          setTimeout(() => {
            done();
            reject(new Error('cancelled'));
          }, 200),
        );
      });
    };
    const driver = new FakeDriver({
      check: {
        display: (ctx) => command(ctx, false),
        keypad: (ctx) => command(ctx, true),
        card_events: (ctx) => command(ctx, false),
      },
      // cancel() returns at once, as the real ABECS driver's does: the unwinding happens in the command.
      cancel: async () => undefined,
    });
    const run = runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: 'p' });
    await vi.advanceTimersByTimeAsync(
      ABECS_PINPAD_SUITE.steps.find((s) => s.id === 'keypad')!.timeoutMs + 1_000,
    );
    const result = await run;
    expect(result.steps.find((s) => s.id === 'keypad')?.errorCode).toBe('DIAG-TIME-001');
    expect(result.steps.find((s) => s.id === 'card_events')?.status).toBe('pass');
  });
});
