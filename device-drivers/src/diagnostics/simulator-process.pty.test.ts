/**
 * The simulator as a separate process (`npm run simulate`, i.e. simulators/cli.ts), the way a bench
 * or `npm start` runs it: the device service on this side opens the pty link like any serial port.
 * The unplug fault really removes the port (the harness stops its socat) and brings it back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeviceService } from '../service/default-service.ts';
import type { DeviceService } from '../service/device-service.ts';

const SIM_CLI = fileURLToPath(new URL('../simulators/cli.ts', import.meta.url));

let child: ChildProcess | null = null;
let service: DeviceService | null = null;

afterEach(async () => {
  await service?.shutdown();
  service = null;
  const c = child;
  child = null;
  if (c && c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
    const exited = new Promise((resolve) => c.once('exit', resolve));
    process.kill(c.pid, 'SIGTERM'); // by its own PID; it stops its socat itself
    await exited;
  }
});

/** Starts the simulator process; resolves with a function that waits for a stdout line. */
async function startSimulator(
  args: string[],
): Promise<{ waitFor: (pattern: RegExp) => Promise<string>; send: (line: string) => void }> {
  const c = spawn(process.execPath, ['--import', 'tsx', SIM_CLI, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child = c;
  let buffer = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const lines: string[] = [];
  c.stdout?.setEncoding('utf8');
  c.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen) {
        lines.splice(lines.indexOf(seen), 1);
        return resolve(seen);
      }
      const timer = setTimeout(
        () => reject(new Error(`simulator did not print ${pattern} (saw: ${lines.join(' | ')})`)),
        20_000,
      );
      waiters.push({
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          lines.splice(lines.indexOf(line), 1);
          resolve(line);
        },
      });
    });
  await waitFor(/^READY /);
  return { waitFor, send: (line) => c.stdin?.write(`${line}\n`) };
}

describe('device service against the simulator process', () => {
  it('auto-detects and runs the ABECS suite against `simulate --device abecs`', async () => {
    const link = `/tmp/emdad-c-simproc-${process.pid}`;
    await startSimulator(['--device', 'abecs', '--link', link]);
    service = createDeviceService();
    service.addPath(link);
    const session = await service.connect(link);
    expect(session.protocol).toBe('abecs');
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    expect(result.verdict).toBe('healthy');
    expect(result.identity?.serialNumber).toBe('5C123456');
  });

  it('a real unplug from the simulator process ends the run with DIAG-LINK-003; after the replug the port connects again', async () => {
    const link = `/tmp/emdad-c-simproc-unplug-${process.pid}`;
    const sim = await startSimulator([
      '--device',
      'abecs',
      '--link',
      link,
      '--fault',
      'unplug_mid_command',
      '--replug-ms',
      '300',
    ]);
    service = createDeviceService();
    const session = await service.connect(link, { protocol: 'abecs', probe: false });
    const started = Date.now();
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.verdict).toBe('incomplete');
    expect(result.errorCodes).toContain('DIAG-LINK-003');
    expect(service.getSession(session.sessionId).state).toBe('lost');

    await sim.waitFor(/^UNPLUGGED /);
    sim.send('faults none');
    await sim.waitFor(/^FAULTS none/);
    await sim.waitFor(/^READY /);
    const again = await service.connect(link);
    const rerun = service.runSuite(again.sessionId);
    expect((await service.waitForRun(rerun.runId)).verdict).toBe('healthy');
  });

  it('`simulate --device pp791 --fault unplug_mid_command` really pulls the port: DIAG-LINK-003, session lost; healthy after the replug', async () => {
    const link = `/tmp/emdad-c-simproc-pp791-unplug-${process.pid}`;
    const sim = await startSimulator([
      '--device',
      'pp791',
      '--link',
      link,
      '--fault',
      'unplug_mid_command',
      '--replug-ms',
      '300',
    ]);
    service = createDeviceService();
    // No probe: the fault cuts the first command, which is then the suite's own handshake.
    const session = await service.connect(link, { protocol: 'stx', probe: false });
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    // A port that went away is "unplugged", not a device that stayed silent (DIAG-LINK-001).
    expect(result.steps.find((s) => s.id === 'open')).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-LINK-003',
    });
    expect(result.verdict).toBe('incomplete');
    expect(service.getSession(session.sessionId).state).toBe('lost');

    await sim.waitFor(/^UNPLUGGED /);
    sim.send('faults none');
    await sim.waitFor(/^FAULTS none/);
    await sim.waitFor(/^READY /);
    const again = await service.reconnect(session.sessionId, { timeoutMs: 20_000 });
    expect(again.protocol).toBe('stx');
    const rerun = service.runSuite(again.sessionId);
    expect((await service.waitForRun(rerun.runId)).verdict).toBe('healthy');
  });
});
