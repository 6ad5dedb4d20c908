/**
 * PP791 driver ↔ simulator over real pseudo-terminals (socat), `serialport` on both ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DriverError, type DriverContext, type FrameLogEntry } from './driver.ts';
import { Pp791Driver } from './pp791.ts';
import { Pp791Simulator, loadPp791Scenario } from '../simulators/pp791-sim.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0)
    await cleanups
      .pop()?.()
      .catch(() => undefined);
});

function context() {
  const frames: FrameLogEntry[] = [];
  const ctx: DriverContext = {
    signal: new AbortController().signal,
    log: (e) => frames.push(e),
    prompt: () => undefined,
  };
  return { ctx, frames };
}

async function simulatorOn(pair: PtyPair, scenarioName: string) {
  const device = new SerialTransport({ path: pair.devicePath, baudRate: 9600 });
  await device.open();
  const sim = new Pp791Simulator(await loadPp791Scenario(scenarioName), { resendAfterMs: 300 });
  sim.attach(device);
  cleanups.push(async () => {
    sim.detach();
    await device.close();
  });
  return { sim, device };
}

describe('PP791 over real ptys', () => {
  it('healthy unit at 9600 8N1: identity and every check', async () => {
    const pair = await startPtyPair();
    cleanups.push(() => pair.stop());
    await simulatorOn(pair, 'healthy');
    const host = new SerialTransport({ path: pair.hostPath, baudRate: 9600 });
    const driver = new Pp791Driver(host);
    cleanups.push(() => driver.close(context().ctx));
    const { ctx, frames } = context();

    expect(await driver.probe(ctx, 1500)).toBe(true);
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBe('791A23004512');
    expect(await driver.runCheck('self_test', ctx)).toMatchObject({ status: 'pass' });
    expect(await driver.runCheck('master_key', ctx)).toMatchObject({
      status: 'pass',
      values: { loaded: ['0', '1'] },
    });
    expect(await driver.runCheck('baud_rate', ctx)).toMatchObject({
      status: 'pass',
      values: { baudRate: 9600, line: '9600 8N1' },
    });
    expect(frames.filter((f) => f.direction === 'rx').length).toBeGreaterThan(10);
  });

  it('7E1 carried on the 8-bit pty: the self-test fault comes through', async () => {
    const pair = await startPtyPair();
    cleanups.push(() => pair.stop());
    await simulatorOn(pair, 'hardware-fault');
    const host = new SerialTransport({ path: pair.hostPath, baudRate: 9600 });
    const driver = new Pp791Driver(host, { mode: '7E1-soft' });
    cleanups.push(() => driver.close(context().ctx));
    const { ctx } = context();
    await driver.open(ctx);
    expect(await driver.runCheck('self_test', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-HW-001',
    });
  });

  it('unplug mid-command ends in a clear error in bounded time, and the port opens again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emdad-pp791-'));
    const link = join(dir, 'ttyPP791');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const pair = await startPtyPair({ link });
    cleanups.push(() => pair.stop());
    const { sim } = await simulatorOn(pair, 'healthy');
    const host = new SerialTransport({ path: link, baudRate: 9600 });
    const driver = new Pp791Driver(host, { responseTimeoutMs: 30_000 });
    const { ctx } = context();
    await driver.open(ctx);

    sim.setFaults(['slow']); // keep the command open while the cable is pulled
    const started = Date.now();
    const pending = driver.runCheck('self_test', ctx).catch((e: unknown) => e);
    setTimeout(() => void pair.stop(), 100);
    const error = (await pending) as DriverError;
    expect(error).toBeInstanceOf(DriverError);
    expect(error.code).toBe('DIAG-LINK-003');
    expect(error.message).toMatch(/Reconnect/);
    expect(Date.now() - started).toBeLessThan(10_000);
    await driver.close(ctx).catch(() => undefined);

    // The device comes back on the same path: a new session works.
    const again = await startPtyPair({ link });
    cleanups.push(() => again.stop());
    await simulatorOn(again, 'healthy');
    const host2 = new SerialTransport({ path: link, baudRate: 9600 });
    const driver2 = new Pp791Driver(host2);
    cleanups.push(() => driver2.close(context().ctx));
    await driver2.open(ctx);
    expect((await driver2.identify(ctx)).serialNumber).toBe('791A23004512');
  });

  it('against the simulator as a separate process (npm run simulate -- --device pp791)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'emdad-pp791-proc-'));
    const link = join(dir, 'ttyPP791');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const cli = fileURLToPath(new URL('../simulators/cli.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, '--device', 'pp791', '--link', link, '--scenario', 'no-keys'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        process.kill(child.pid, 'SIGTERM');
      await exited;
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulator did not start: ${output}`)), 20_000);
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (c: string) => (output += c));
      child.stdout.on('data', (c: string) => {
        output += c;
        if (output.includes(`READY ${link}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`simulator exited (${code}): ${output}`));
      });
    });

    const driver = new Pp791Driver(new SerialTransport({ path: link, baudRate: 19200 }));
    const { ctx } = context();
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBeNull();
    expect(await driver.runCheck('master_key', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-SEC-002',
    });

    // Faults on demand through the harness's stdin.
    child.stdin.write('faults nak_storm\n');
    await new Promise<void>((resolve) => {
      const check = (c: string): void => {
        if (c.includes('FAULTS nak_storm')) {
          child.stdout.off('data', check);
          resolve();
        }
      };
      child.stdout.on('data', check);
    });
    const error = (await driver.runCheck('self_test', ctx).catch((e: unknown) => e)) as DriverError;
    expect(error.code).toBe('DIAG-LINK-002');
    await driver.close(ctx);
  });
});
