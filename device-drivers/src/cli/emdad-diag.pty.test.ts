/**
 * emdad-diag end to end over real pseudo-terminals: a PP791-dialect simulator on the device end of
 * a socat pair, and the CLI on the host end — in-process, and as the real `bin/emdad-diag.mjs`
 * child process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeviceService } from '../service/default-service.ts';
import { Pp791Simulator, loadPp791Scenario } from '../simulators/pp791-sim.ts';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { EXIT, runCli, type PortReport } from './run-cli.ts';

const BIN = fileURLToPath(new URL('../../bin/emdad-diag.mjs', import.meta.url));

let pair: PtyPair;
let device: SerialTransport;
let simulator: Pp791Simulator | null = null;

async function startSimulator(scenario: string): Promise<void> {
  simulator = new Pp791Simulator(await loadPp791Scenario(scenario));
  simulator.attach(device);
}

beforeEach(async () => {
  pair = await startPtyPair();
  device = new SerialTransport({ path: pair.devicePath });
  await device.open();
});

afterEach(async () => {
  simulator?.detach();
  simulator = null;
  await device.close();
  await pair.stop();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => err.push(t),
      createService: () => createDeviceService(),
    },
  };
}

describe('emdad-diag over a pty', () => {
  it('--protocol stx on a healthy PP791: report, not-supported checks, exit 0', async () => {
    await startSimulator('healthy');
    const t = capture();
    expect(await runCli(['--port', pair.hostPath, '--protocol', 'stx', '--baud', '19200'], t.io)).toBe(
      EXIT.healthy,
    );
    const report = t.out.join('');
    expect(report).toContain('Serial number: 791A23004512');
    expect(report).toMatch(/\[PASS\] Device self-test/);
    expect(report).toMatch(/\[N\/A \] Keypad test\s+\n\s+Not supported by this device's protocol\./);
    expect(report).toContain('Verdict: HEALTHY');
    expect(t.err.join('')).toContain('[1/10] Connect and handshake');
  });

  it('--auto --json detects the terminal and reports missing master keys (exit 1)', async () => {
    await startSimulator('no-keys');
    const t = capture();
    const code = await runCli(['--auto', '--port', pair.hostPath, '--json'], t.io);
    const { reports } = JSON.parse(t.out.join('')) as { reports: PortReport[] };
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ path: pair.hostPath, protocol: 'stx', family: 'pp791_terminal' });
    expect(reports[0]?.result?.steps.find((s) => s.id === 'master_key')?.status).toMatch(/fail|warn/);
    expect(reports[0]?.result?.errorCodes).toContain('DIAG-SEC-002');
    expect(code).toBe(EXIT.problem);
  });

  it('a port nobody answers on: protocol not recognised (exit 2) within the detect bound', async () => {
    const t = capture();
    const started = Date.now();
    expect(await runCli(['--auto', '--port', pair.hostPath], t.io)).toBe(EXIT.usage);
    expect(t.out.join('')).toContain('DIAG-LINK-004');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('a missing port: not found (exit 2)', async () => {
    const t = capture();
    expect(await runCli(['--port', '/dev/ttyEMDAD-missing', '--protocol', 'stx'], t.io)).toBe(EXIT.usage);
    expect(t.out.join('')).toMatch(/was not found/);
  });

  it('the real bin launcher, as a separate process, runs the suite and exits with the verdict', async () => {
    await startSimulator('healthy');
    const child = spawn(process.execPath, [BIN, '--port', pair.hostPath, '--protocol', 'stx', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toMatch(/Error/);
    expect(code).toBe(EXIT.healthy);
    const { reports } = JSON.parse(stdout) as { reports: PortReport[] };
    expect(reports[0]?.result?.verdict).toBe('healthy');
    expect(reports[0]?.result?.identity?.serialNumber).toBe('791A23004512');
  });
});
