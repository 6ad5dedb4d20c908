import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DriverContext } from '../drivers/driver.ts';
import { MemoryTransport } from '../transport/memory-transport.ts';
import { DEFAULT_SERIAL_SETTINGS, TransportError, type SerialLineSettings } from '../transport/transport.ts';
import { autoDetect, type ProtocolCandidate } from './auto-detect.ts';
import { FakeDriver } from './fake-driver.test-support.ts';

const ABECS_LINE: SerialLineSettings = { ...DEFAULT_SERIAL_SETTINGS, baudRate: 19200 };
const STX_8N1: SerialLineSettings = { ...DEFAULT_SERIAL_SETTINGS, baudRate: 9600 };
const STX_7E1: SerialLineSettings = {
  ...DEFAULT_SERIAL_SETTINGS,
  baudRate: 9600,
  dataBits: 7,
  parity: 'even',
};

afterEach(() => vi.useRealTimers());

/** A port whose attached device answers only `protocol` at `settings` (or nothing). */
function fakePort(answers: { protocol: string; settings: SerialLineSettings } | null) {
  const transports: { t: MemoryTransport; settings: SerialLineSettings }[] = [];
  const createTransport = (path: string, settings: SerialLineSettings) => {
    const t = new MemoryTransport(path);
    transports.push({ t, settings });
    return t;
  };
  const candidate = (
    protocol: 'abecs' | 'stx',
    lineSettings: SerialLineSettings[],
    probe?: (ctx: DriverContext, ms: number) => Promise<boolean>,
  ): ProtocolCandidate => ({
    protocol,
    family: protocol === 'abecs' ? 'abecs_pinpad' : 'pp791_terminal',
    lineSettings,
    createDriver: () => {
      const settings = transports.at(-1)!.settings;
      return new FakeDriver({
        protocol,
        probe:
          probe ??
          (async () => answers !== null && answers.protocol === protocol && answers.settings === settings),
      });
    },
  });
  return { transports, createTransport, candidate };
}

describe('autoDetect', () => {
  it('reports the first protocol that answers and hands over the open transport', async () => {
    const port = fakePort({ protocol: 'abecs', settings: ABECS_LINE });
    const result = await autoDetect({
      path: '/dev/ttyUSB0',
      candidates: [port.candidate('abecs', [ABECS_LINE]), port.candidate('stx', [STX_8N1, STX_7E1])],
      createTransport: port.createTransport,
    });
    expect(result.found).toBe(true);
    if (!result.found) return;
    expect(result).toMatchObject({ protocol: 'abecs', family: 'abecs_pinpad', settings: ABECS_LINE });
    expect(result.transport.isOpen).toBe(true);
    expect(result.attempts).toHaveLength(1);
    expect(port.transports).toHaveLength(1);
  });

  it('tries each line setting in order and closes every port it gave up on', async () => {
    const port = fakePort({ protocol: 'stx', settings: STX_7E1 });
    const result = await autoDetect({
      path: 'p',
      candidates: [port.candidate('abecs', [ABECS_LINE]), port.candidate('stx', [STX_8N1, STX_7E1])],
      createTransport: port.createTransport,
    });
    expect(result.found && result.settings).toEqual(STX_7E1);
    expect(result.attempts.map((a) => [a.protocol, a.settings.parity, a.outcome])).toEqual([
      ['abecs', 'none', 'no_answer'],
      ['stx', 'none', 'no_answer'],
      ['stx', 'even', 'recognised'],
    ]);
    expect(port.transports.map((x) => x.t.isOpen)).toEqual([false, false, true]);
  });

  it('says "protocol not recognised" (DIAG-LINK-004) when nothing answers, leaving the port closed', async () => {
    const port = fakePort(null);
    const result = await autoDetect({
      path: 'p',
      candidates: [port.candidate('abecs', [ABECS_LINE]), port.candidate('stx', [STX_8N1, STX_7E1])],
      createTransport: port.createTransport,
    });
    expect(result.found).toBe(false);
    if (result.found) return;
    expect(result.errorCode).toBe('DIAG-LINK-004');
    expect(result.message).toMatch(/No known protocol/);
    expect(result.attempts).toHaveLength(3);
    expect(port.transports.every((x) => !x.t.isOpen)).toBe(true);
  });

  it('stops at once on a port error: busy is busy for every protocol', async () => {
    let created = 0;
    const result = await autoDetect({
      path: 'p',
      candidates: [
        {
          protocol: 'abecs',
          family: 'abecs_pinpad',
          lineSettings: [ABECS_LINE],
          createDriver: () => new FakeDriver(),
        },
        {
          protocol: 'stx',
          family: 'pp791_terminal',
          lineSettings: [STX_8N1],
          createDriver: () => new FakeDriver(),
        },
      ],
      createTransport: (path) => {
        created += 1;
        const t = new MemoryTransport(path);
        t.open = async () => {
          throw new TransportError('port_busy', 'busy');
        };
        return t;
      },
    });
    expect(created).toBe(1);
    expect(result).toMatchObject({ found: false, errorCode: 'DIAG-PORT-001' });
    expect(!result.found && result.transportError?.code).toBe('port_busy');
  });

  it('bounds a probe that hangs or throws, and bounds the whole search', async () => {
    vi.useFakeTimers();
    const port = fakePort(null);
    const hang = (ctx: DriverContext) =>
      new Promise<boolean>((resolve) => {
        ctx.signal.addEventListener('abort', () => resolve(false));
      });
    const run = autoDetect({
      path: 'p',
      candidates: [
        port.candidate('abecs', [ABECS_LINE], async () => {
          throw new Error('driver bug');
        }),
        port.candidate('stx', [STX_8N1, STX_7E1, STX_8N1, STX_7E1], hang),
      ],
      createTransport: port.createTransport,
      probeTimeoutMs: 1_000,
      overallTimeoutMs: 2_500,
      now: () => Date.now(),
    });
    await vi.advanceTimersByTimeAsync(10_000);
    const result = await run;
    expect(result.found).toBe(false);
    expect(result.attempts[0]).toMatchObject({ protocol: 'abecs', outcome: 'no_answer' });
    // 2.5 s overall with 1.25 s per hanging probe (1 s bound + grace): two STX attempts got a turn.
    expect(result.attempts.map((a) => a.protocol)).toEqual(['abecs', 'stx', 'stx']);
    expect(result.attempts.slice(1).every((a) => a.durationMs <= 1_250)).toBe(true);
    expect(port.transports.every((x) => !x.t.isOpen)).toBe(true);
  });
});
