import { describe, expect, it } from 'vitest';
import { FakeDriver } from '../diagnostics/fake-driver.test-support.ts';
import { ABECS_LINE_SETTINGS } from '../diagnostics/protocols.ts';
import { DeviceService } from '../service/device-service.ts';
import { MemoryTransport } from '../transport/memory-transport.ts';
import { TransportError } from '../transport/transport.ts';
import { EXIT, runCli } from './run-cli.ts';

function io(service: () => DeviceService) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), createService: service },
  };
}

function fakeService(script: ConstructorParameters<typeof FakeDriver>[0] = {}, openError?: TransportError) {
  return () =>
    new DeviceService({
      serialProtocols: [
        {
          protocol: 'abecs',
          family: 'abecs_pinpad',
          lineSettings: ABECS_LINE_SETTINGS,
          createDriver: () => new FakeDriver(script),
        },
      ],
      createSerialTransport: (p) => {
        const t = new MemoryTransport(p);
        if (openError) {
          t.open = async () => {
            throw openError;
          };
        }
        return t;
      },
      discover: async () => [],
    });
}

describe('emdad-diag argument handling', () => {
  it.each([
    [[], /--port PATH, or --auto/],
    [['--port', 'a', '--port', 'b'], /one --port/],
    [['--port', 'a', '--protocol', 'telnet'], /Unknown protocol/],
    [['--port', 'a', '--baud', 'fast', '--protocol', 'abecs'], /--baud/],
    [['--port', 'a', '--baud', '9600'], /explicit --protocol/],
    [['--auto', '--protocol', 'stx'], /leave out --protocol/],
    [['--port', 'a', '--lang', 'de'], /--lang/],
    [['--bogus'], /Unknown option/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const t = io(fakeService());
    expect(await runCli(argv, t.io)).toBe(EXIT.usage);
    expect(t.err.join('')).toMatch(message);
    expect(t.err.join('')).toContain('Usage:');
  });

  it('--help prints the usage and the exit codes', async () => {
    const t = io(fakeService());
    expect(await runCli(['--help'], t.io)).toBe(0);
    expect(t.out.join('')).toMatch(/Exit codes: 0 healthy, 1 degraded or faulty, 2 usage or port error/);
  });
});

describe('emdad-diag verdicts and exit codes', () => {
  it('healthy → 0 with a readable report', async () => {
    const t = io(fakeService());
    expect(await runCli(['--port', '/dev/ttyS9'], t.io)).toBe(EXIT.healthy);
    const report = t.out.join('');
    expect(report).toContain('Port: /dev/ttyS9');
    expect(report).toContain('Serial number: SN123456');
    expect(report).toMatch(/\[PASS\] Keypad test/);
    expect(report).toContain('Verdict: HEALTHY');
  });

  it('faulty → 1, and the error code is explained', async () => {
    const t = io(
      fakeService({
        check: {
          keypad: async () => ({
            status: 'fail',
            values: { registered: 3, expected: 12 },
            errorCode: 'DIAG-KEY-001',
            message: 'Keys 4-9 did not register',
          }),
        },
      }),
    );
    expect(await runCli(['--port', 'p', '--json'], t.io)).toBe(EXIT.problem);
    const json = JSON.parse(t.out.join('')) as {
      reports: { result: { verdict: string; errorCodes: string[] } }[];
    };
    expect(json.reports[0]?.result).toMatchObject({ verdict: 'faulty', errorCodes: ['DIAG-KEY-001'] });
    const text = io(
      fakeService({
        check: {
          keypad: async () => ({ status: 'fail', values: {}, errorCode: 'DIAG-KEY-001', message: null }),
        },
      }),
    );
    await runCli(['--port', 'p', '--lang', 'fa'], text.io);
    expect(text.out.join('')).toContain('DIAG-KEY-001: Keypad key did not register');
    expect(text.out.join('')).toContain('معیوب');
  });

  it('a port error → 2 with the technician sentence (permission mentions dialout)', async () => {
    const t = io(fakeService({}, new TransportError('permission_denied', 'EACCES')));
    expect(await runCli(['--port', '/dev/ttyUSB0'], t.io)).toBe(EXIT.usage);
    expect(t.out.join('')).toContain('dialout');
    expect(t.out.join('')).toContain('DIAG-PORT-002');
  });

  it('--auto with nothing listed says so (exit 2)', async () => {
    const t = io(fakeService());
    expect(await runCli(['--auto'], t.io)).toBe(EXIT.usage);
    expect(t.err.join('')).toMatch(/No serial ports or card readers were found/);
  });

  it('Ctrl-C cancels the run: incomplete → 3, with the partial report', async () => {
    const controller = new AbortController();
    const t = io(
      fakeService({
        check: {
          display: (ctx) => {
            queueMicrotask(() => controller.abort());
            return new Promise((_r, reject) =>
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
            );
          },
        },
      }),
    );
    expect(await runCli(['--port', 'p'], { ...t.io, signal: controller.signal })).toBe(EXIT.incomplete);
    expect(t.out.join('')).toMatch(/\[SKIP\] Display test/);
    expect(t.out.join('')).toContain('Verdict: INCOMPLETE');
  });
});
