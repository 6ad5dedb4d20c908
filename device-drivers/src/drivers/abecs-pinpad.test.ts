import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryPair, type MemoryTransport } from '../transport/memory-transport.ts';
import {
  AbecsPinpadSimulator,
  loadAbecsScenario,
  type AbecsSimulatorOptions,
} from '../simulators/abecs-pinpad-sim.ts';
import type { SimulatorFault } from '../simulators/simulator.ts';
import { AbecsPinpadDriver, type AbecsDriverOptions } from './abecs-pinpad.ts';
import type { DriverContext, FrameLogEntry } from './driver.ts';
import { DriverError } from './driver.ts';

export const FAST_TIMINGS = {
  ackTimeoutMs: 300,
  responseTimeoutMs: 1000,
  silenceMs: 80,
  maxDiscardMs: 1000,
  interByteTimeoutMs: 300,
  eotTimeoutMs: 300,
};
const FAST_DRIVER: AbecsDriverOptions = { timings: FAST_TIMINGS, keyTimeoutMs: 500, eventTimeoutS: 1 };

interface Rig {
  host: MemoryTransport;
  device: MemoryTransport;
  sim: AbecsPinpadSimulator;
  driver: AbecsPinpadDriver;
  ctx: DriverContext & { frames: FrameLogEntry[]; prompts: string[] };
  controller: AbortController;
}
const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.sim.detach();
});

/** Resolves once `condition` holds (checked every few ms; fails after 10 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The far end of a memory pair. */
const deviceEndOf = (host: MemoryTransport) => host.peer as MemoryTransport;

async function rig(
  scenario = 'healthy',
  faults: SimulatorFault[] = [],
  simOptions: AbecsSimulatorOptions = {},
  driverOptions: AbecsDriverOptions = FAST_DRIVER,
): Promise<Rig> {
  const [host, device] = createMemoryPair();
  await host.open();
  await device.open();
  const sim = new AbecsPinpadSimulator(await loadAbecsScenario(scenario), {
    slowExtraMs: 1500,
    ...simOptions,
  });
  sim.setFaults(faults);
  sim.attach(device);
  const controller = new AbortController();
  const frames: FrameLogEntry[] = [];
  const prompts: string[] = [];
  const ctx = {
    signal: controller.signal,
    log: (e: FrameLogEntry) => frames.push(e),
    prompt: (m: { en: string }) => prompts.push(m.en),
    frames,
    prompts,
  };
  const r = { host, device, sim, driver: new AbecsPinpadDriver(host, driverOptions), ctx, controller };
  rigs.push(r);
  return r;
}

describe('ABECS driver against the simulator (memory pair)', () => {
  it('opens, identifies, runs every check and closes on a healthy PinPad', async () => {
    const { driver, ctx, sim } = await rig();
    await driver.open(ctx);
    // The first bytes on the wire are CAN (spec 2.2.2.3) then the OPN frame of the spec example.
    expect(ctx.frames[0]).toMatchObject({ direction: 'tx', hex: '18' });
    expect(ctx.frames.some((f) => f.direction === 'tx' && f.hex === '164f504e17a8a9')).toBe(true);
    const id = await driver.identify(ctx);
    expect(id).toMatchObject({
      family: 'abecs_pinpad',
      manufacturer: 'INGENICO',
      model: 'PPC930',
      serialNumber: '5C123456',
      firmwareVersion: 'TELIUM3 11.40.01',
      appVersion: '002.12 240903',
    });
    expect(id.extra).toMatchObject({
      memory: '8MB',
      specVersion: '2.12',
      contactless: true,
      displayText: { rows: 2, columns: 16 },
      keySlots: { mkTdesPin: [0, 1, 16], mkTdesData: [0], dukptTdesPin: [2, 14], dukptTdesData: [3] },
      dukptKsns: {
        pin: { '02': 'FFFF9876543210E00007', '14': 'FFFF0123456789A00042' },
        data: { '03': 'FFFF1111112222300001' },
      },
    });
    expect([...driver.checks]).toEqual(['display', 'keypad', 'card_events', 'key_slots']);
    const display = await driver.runCheck('display', ctx);
    expect(display.status).toBe('pass');
    const keypad = await driver.runCheck('keypad', ctx);
    expect(keypad).toMatchObject({ status: 'pass', values: { keysTested: 3, keysOk: 3 } });
    const cards = await driver.runCheck('card_events', ctx);
    expect(cards.status).toBe('pass');
    expect(cards.values).toMatchObject({
      key: { status: 'pass' },
      swipe: { status: 'pass', event: '90' },
      chip: { status: 'pass' },
      tap: { status: 'pass' },
    });
    // Card data stays in the driver: only lengths are reported.
    expect(JSON.stringify(cards.values)).not.toContain('5400000000000005');
    expect(ctx.prompts.some((p) => p.includes('INSERT, SWIPE'))).toBe(true); // the NTM notification
    expect((await driver.runCheck('key_slots', ctx)).status).toBe('pass');
    expect((await driver.runCheck('self_test', ctx)).status).toBe('not_supported');
    await driver.close(ctx);
    expect(sim.received).toEqual(expect.arrayContaining(['OPN', 'GIX', 'DSP', 'GKY', 'CEX', 'CLO']));
    expect(sim.display.trim()).toBe('EMDAD FIELD     TEST COMPLETE');
  });

  it('probe answers true for an ABECS PinPad and false for a silent port, within the time asked', async () => {
    const { driver, ctx } = await rig();
    expect(await driver.probe(ctx, 1000)).toBe(true);
    const silent = await rig('healthy', ['missing_ack']);
    const started = Date.now();
    silent.sim.detach(); // nothing answers at all, not even EOT
    expect(await silent.driver.probe(silent.ctx, 600)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports keys that do not register (keypad_failure) as DIAG-KEY-001, cancelling GKY with CAN', async () => {
    const { driver, ctx, host } = await rig('healthy', ['keypad_failure']);
    await driver.open(ctx);
    const r = await driver.runCheck('keypad', ctx);
    expect(r).toMatchObject({ status: 'fail', errorCode: 'DIAG-KEY-001', values: { keysOk: 0 } });
    // CAN (18) was sent after each unanswered GKY and the PinPad answered EOT (04).
    expect(host.written.filter((w) => w.length === 1 && w[0] === 0x18).length).toBeGreaterThanOrEqual(4);
    expect(ctx.frames.some((f) => f.direction === 'rx' && f.hex === '04')).toBe(true);
  });

  it('reports a worn key that reads as another key', async () => {
    const { driver, ctx } = await rig('worn-keypad');
    await driver.open(ctx);
    const r = await driver.runCheck('keypad', ctx);
    expect(r).toMatchObject({ status: 'fail', errorCode: 'DIAG-KEY-001' });
    expect(r.message).toContain('[CLEAR] read as [OK]');
  });

  it('reports card reader failure per event', async () => {
    const { driver, ctx } = await rig('healthy', ['card_reader_failure']);
    await driver.open(ctx);
    await driver.identify(ctx);
    const r = await driver.runCheck('card_events', ctx);
    expect(r.status).toBe('fail');
    expect(r.errorCode).toBe('DIAG-CARD-001');
    expect(r.values).toMatchObject({
      key: { status: 'pass' },
      swipe: { status: 'fail' },
      chip: { status: 'fail' },
      tap: { status: 'fail' },
    });
  });

  it('fails key_slots with DIAG-SEC-001 when no key is loaded, and skips tap without contactless', async () => {
    const { driver, ctx } = await rig('no-keys');
    await driver.open(ctx);
    await driver.identify(ctx);
    expect(await driver.runCheck('key_slots', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-SEC-001',
    });
    const cards = await driver.runCheck('card_events', ctx);
    expect(cards.values).toMatchObject({ tap: { status: 'not_supported' } });
    expect(cards.status).toBe('pass');
  });

  it('falls back to GIN on a PinPad without GIX, and reports key slots as not supported', async () => {
    const { driver, ctx, sim } = await rig('legacy');
    await driver.open(ctx);
    const id = await driver.identify(ctx);
    expect(id).toMatchObject({
      manufacturer: 'INGENICO',
      model: 'IPP320',
      serialNumber: '3B998877',
      firmwareVersion: 'TELIUM3 11.40.01',
      appVersion: null,
    });
    expect(id.extra).toMatchObject({
      identitySource: 'GIN',
      specVersion: '1.08',
      managerVersion: '012.05 240517',
      memory: '2MB',
      contactless: true,
    });
    expect(sim.received).toEqual(['OPN', 'GIX', 'GIN']);
    const slots = await driver.runCheck('key_slots', ctx);
    expect(slots.status).toBe('not_supported');
    expect(slots.message).toMatch(/not supported by this device's protocol/i);
  });

  it.each([
    ['missing_ack', 'DIAG-LINK-001'],
    ['nak_storm', 'DIAG-LINK-002'],
    ['bad_checksum', 'DIAG-LINK-002'],
    ['slow', 'DIAG-LINK-001'],
  ] as const)('%s ends the command with %s and the raw frames', async (fault, code) => {
    const { driver, ctx } = await rig('healthy', [fault]);
    const error = await driver.open(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).code).toBe(code);
    expect((error as DriverError).frames?.length).toBeGreaterThan(0);
  });

  it('keeps working through garbage on the line', async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const { driver, ctx } = await rig('healthy', ['garbage'], { random });
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBe('5C123456');
    expect((await driver.runCheck('display', ctx)).status).toBe('pass');
  });

  it('unplug mid-command ends with DIAG-LINK-003 in bounded time', async () => {
    const { driver, ctx } = await rig('healthy', ['unplug_mid_command'], { unplugAtCommand: 2 });
    await driver.open(ctx);
    const started = Date.now();
    await expect(driver.identify(ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-003' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a transport that closes mid-command ends with DIAG-LINK-003', async () => {
    const { driver, ctx, host, sim } = await rig('healthy', [], {});
    await driver.open(ctx);
    sim.setFaults(['keypad_failure']);
    const run = driver.runCheck('keypad', ctx);
    setTimeout(() => host.unplug(), 100);
    await expect(run).rejects.toMatchObject({ code: 'DIAG-LINK-003' });
  });

  it('the same driver works again once its transport is reopened after an unplug', async () => {
    const { driver, ctx, host, sim } = await rig();
    await driver.open(ctx);
    host.unplug();
    await expect(driver.runCheck('display', ctx)).rejects.toMatchObject({ code: 'DIAG-LINK-003' });
    host.replug();
    await host.open();
    sim.attach(deviceEndOf(host));
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBe('5C123456');
  });

  it('cancel() aborts a blocking command with CAN and the PinPad answers EOT', async () => {
    const { driver, ctx, sim } = await rig(
      'healthy',
      ['keypad_failure'],
      {},
      { ...FAST_DRIVER, keyTimeoutMs: 20_000 },
    );
    await driver.open(ctx);
    const run = driver.runCheck('keypad', ctx).then(
      () => 'finished',
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 150));
    await driver.cancel();
    const outcome = await run;
    expect(outcome).toBeInstanceOf(Error);
    expect(ctx.frames.some((f) => f.direction === 'rx' && f.hex === '04')).toBe(true);
    sim.setFaults([]);
    // The session is usable again afterwards.
    expect((await driver.runCheck('display', ctx)).status).toBe('pass');
  });

  it('cancel() resolves only once the PinPad has confirmed with EOT: the link is idle for the next command', async () => {
    const { driver, ctx, sim, device } = await rig(
      'healthy',
      ['keypad_failure'],
      {},
      { ...FAST_DRIVER, keyTimeoutMs: 20_000 },
    );
    // A PinPad that takes a while to confirm the CAN (the spec allows it 2 s).
    const write = device.write.bind(device);
    device.write = async (bytes: Uint8Array) => {
      if (bytes.length === 1 && bytes[0] === 0x04) await new Promise((r) => setTimeout(r, 150));
      return write(bytes);
    };
    await driver.open(ctx);
    const run = driver.runCheck('keypad', ctx).then(
      () => 'finished',
      (e: unknown) => e,
    );
    await until(() => sim.received.includes('GKY'));
    const before = ctx.frames.length;
    await driver.cancel();
    const after = ctx.frames.slice(before);
    expect(after.some((f) => f.direction === 'tx' && f.hex === '18')).toBe(true);
    expect(after.some((f) => f.direction === 'rx' && f.hex === '04')).toBe(true);
    // The next command goes straight out: no "one command at a time", no stray EOT taken for its ACK.
    sim.setFaults([]);
    expect((await driver.runCheck('display', ctx)).status).toBe('pass');
    expect(await run).toBeInstanceOf(Error);
  });

  it('cancel() with nothing in flight sends CAN and resolves after the EOT', async () => {
    const { driver, ctx } = await rig();
    await driver.open(ctx);
    const before = ctx.frames.length;
    await driver.cancel();
    expect(ctx.frames.slice(before).map((f) => `${f.direction}:${f.hex}`)).toEqual(['tx:18', 'rx:04']);
  });

  it('aborting the run signal cancels the command in flight', async () => {
    const { driver, ctx, controller } = await rig(
      'healthy',
      ['keypad_failure'],
      {},
      { ...FAST_DRIVER, keyTimeoutMs: 20_000 },
    );
    await driver.open(ctx);
    const run = driver.runCheck('keypad', ctx);
    setTimeout(() => controller.abort(new Error('technician cancelled')), 150);
    await expect(run).rejects.toThrow('technician cancelled');
  });
});
