import { afterEach, describe, expect, it } from 'vitest';
import { DriverError, type DriverContext, type FrameLogEntry } from './driver.ts';
import { Pp791Driver, parseHardware, type Pp791DriverOptions } from './pp791.ts';
import {
  Pp791Simulator,
  loadPp791Scenario,
  type Pp791Scenario,
  type Pp791SimulatorOptions,
} from '../simulators/pp791-sim.ts';
import { createMemoryPair, type MemoryTransport } from '../transport/memory-transport.ts';
import type { SimulatorFault } from '../simulators/simulator.ts';

function context(signal: AbortSignal = new AbortController().signal) {
  const frames: FrameLogEntry[] = [];
  const ctx: DriverContext = { signal, log: (e) => frames.push(e), prompt: () => undefined };
  return { ctx, frames };
}

/** Short link timers so fault tests finish fast; the protocol defaults (5 s) are tested in the link tests. */
const FAST: Pp791DriverOptions = { ackTimeoutMs: 400, responseTimeoutMs: 1000, eotTimeoutMs: 500 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function setup(
  scenarioName: string,
  faults: SimulatorFault[] = [],
  options: Pp791DriverOptions = {},
  simOptions: Pp791SimulatorOptions = {},
) {
  const scenario: Pp791Scenario = await loadPp791Scenario(scenarioName);
  const [host, device] = createMemoryPair();
  await device.open();
  const sim = new Pp791Simulator(scenario, { resendAfterMs: 400, slowExtraMs: 3000, ...simOptions });
  sim.setFaults(faults);
  sim.attach(device);
  const driver = new Pp791Driver(host, {
    ...FAST,
    ...(scenario.line === '7E1-soft' ? { mode: '7E1-soft' } : {}),
    ...options,
  });
  cleanups.push(async () => {
    sim.detach();
    await driver.close(context().ctx).catch(() => undefined);
    await device.close();
  });
  return { host, device, sim, driver };
}

describe('PP791 driver against the simulator (memory link)', () => {
  it('reads identity and passes every check on a healthy unit, logging raw frames', async () => {
    const { driver, sim } = await setup('healthy');
    const { ctx, frames } = context();
    await driver.open(ctx);
    const identity = await driver.identify(ctx);
    expect(identity).toMatchObject({
      family: 'pp791_terminal',
      serialNumber: '791A23004512',
      extra: { serialNumberLoaded: true, hardwarePresent: ['ICC', 'MSR'] },
    });
    const selfTest = await driver.runCheck('self_test', ctx);
    expect(selfTest).toMatchObject({ status: 'pass', errorCode: null });
    const hardware = await driver.runCheck('hardware', ctx);
    expect(hardware).toMatchObject({
      status: 'pass',
      values: { smartCardReader: true, magneticStripeReader: true, samSlot: false },
    });
    const keys = await driver.runCheck('master_key', ctx);
    expect(keys).toMatchObject({ status: 'pass', values: { loaded: ['0', '1'] } });
    expect((keys.values.slots as Record<string, string>)['2']).toBe('empty');
    const baud = await driver.runCheck('baud_rate', ctx);
    // memory link: no line settings to report, but the device answered
    expect(baud).toMatchObject({ status: 'warn', values: { answered: true } });
    // the first frame on the wire is SI "06" SO LRC
    expect(frames[0]).toMatchObject({ direction: 'tx', hex: '0f30360e08' });
    expect(frames.some((f) => f.direction === 'rx' && f.hex === '06')).toBe(true);
    expect(sim.received.slice(0, 3)).toEqual(['06', '06', '1C']);
  });

  it('reports checks it does not offer as not_supported instead of faking them', async () => {
    const { driver } = await setup('healthy');
    const { ctx } = context();
    await driver.open(ctx);
    expect(driver.checks).toEqual(['self_test', 'hardware', 'master_key', 'baud_rate']);
    for (const id of ['display', 'keypad', 'card_events']) {
      expect(await driver.runCheck(id, ctx)).toEqual({
        status: 'not_supported',
        values: {},
        errorCode: null,
        message: null,
      });
    }
  });

  it('a unit with erased keys: no serial, key CRC error, no master key', async () => {
    const { driver } = await setup('no-keys');
    const { ctx } = context();
    await driver.open(ctx);
    const identity = await driver.identify(ctx);
    expect(identity.serialNumber).toBeNull();
    expect(identity.extra.serialNumberLoaded).toBe(false);
    expect(await driver.runCheck('self_test', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-SEC-002',
    });
    expect(await driver.runCheck('master_key', ctx)).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-SEC-002',
      values: { loaded: [] },
    });
    expect((await driver.runCheck('hardware', ctx)).values.present).toEqual(['ICC', 'SAM', 'MSR']);
  });

  it('a failing unit on a 7E1 line: self-test hardware fault, bare PIN pad', async () => {
    const { driver, host } = await setup('hardware-fault');
    const { ctx } = context();
    await driver.open(ctx);
    const result = await driver.runCheck('self_test', ctx);
    expect(result).toMatchObject({ status: 'fail', errorCode: 'DIAG-HW-001' });
    expect(result.values.faults).toEqual(['RAM test failed', 'ROM checksum failed']);
    expect(await driver.runCheck('hardware', ctx)).toMatchObject({ status: 'pass', values: { present: [] } });
    // every byte the host sent carries even parity in bit 7
    for (const chunk of host.written) for (const b of chunk) expect(popcount(b) % 2).toBe(0);
  });

  it('probe answers true for a PP791, false for silence and for a foreign protocol, within its bound', async () => {
    const { driver } = await setup('healthy');
    expect(await driver.probe(context().ctx, 1000)).toBe(true);

    const [silentHost, silentDevice] = createMemoryPair();
    await silentDevice.open();
    const silent = new Pp791Driver(silentHost);
    const started = Date.now();
    expect(await silent.probe(context().ctx, 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3000);

    const [foreignHost, foreignDevice] = createMemoryPair();
    await foreignDevice.open();
    foreignDevice.on(
      'data',
      () => void foreignDevice.write(Uint8Array.of(0x16, 0x41, 0x42, 0x17, 0x12, 0x34)),
    );
    expect(await new Pp791Driver(foreignHost).probe(context().ctx, 300)).toBe(false);
    await silentHost.close();
    await foreignHost.close();
  });

  describe('faults', () => {
    async function openThen(
      fault: SimulatorFault,
      run: (driver: Pp791Driver, ctx: DriverContext) => Promise<unknown>,
    ) {
      const { driver, sim } = await setup('healthy');
      const { ctx } = context();
      await driver.open(ctx);
      sim.setFaults([fault]);
      return run(driver, ctx).catch((e: unknown) => e);
    }

    it('bad_checksum: NAKs the answers, then fails with DIAG-LINK-002 and the frames attached', async () => {
      const error = await openThen('bad_checksum', (d, c) => d.runCheck('self_test', c));
      expect(error).toBeInstanceOf(DriverError);
      expect((error as DriverError).code).toBe('DIAG-LINK-002');
      expect(
        (error as DriverError).frames?.filter((f) => f.direction === 'tx' && f.hex === '15'),
      ).toHaveLength(2);
    });

    it('nak_storm: DIAG-LINK-002 after three NAKs', async () => {
      const error = (await openThen('nak_storm', (d, c) => d.runCheck('self_test', c))) as DriverError;
      expect(error.code).toBe('DIAG-LINK-002');
      expect(error.frames?.filter((f) => f.direction === 'rx' && f.hex === '15')).toHaveLength(3);
    });

    it('missing_ack: resends, then DIAG-LINK-001', async () => {
      const error = (await openThen('missing_ack', (d, c) => d.runCheck('self_test', c))) as DriverError;
      expect(error.code).toBe('DIAG-LINK-001');
      expect(error.frames?.filter((f) => f.direction === 'tx' && f.hex === '0f31360e09')).toHaveLength(3);
    });

    it('slow: the device ACKs but answers too late, port still there → DIAG-LINK-001 (no answer)', async () => {
      const error = (await openThen('slow', (d, c) => d.runCheck('self_test', c))) as DriverError;
      expect(error.code).toBe('DIAG-LINK-001');
      expect(error.message).toMatch(/no answer/);
    });

    it('unplug_mid_command without a harness to pull the port: ACK then silence → DIAG-LINK-001 (no answer)', async () => {
      const error = (await openThen('unplug_mid_command', (d, c) =>
        d.runCheck('master_key', c),
      )) as DriverError;
      expect(error.code).toBe('DIAG-LINK-001');
    });

    it('unplug_mid_command with the port really going away → DIAG-LINK-003 (unplugged)', async () => {
      let pull: () => void = () => undefined;
      const { driver, sim, host } = await setup(
        'healthy',
        [],
        { responseTimeoutMs: 20_000 },
        { onUnplug: () => pull() },
      );
      const { ctx } = context();
      await driver.open(ctx);
      pull = () => host.unplug();
      sim.setFaults(['unplug_mid_command']);
      const started = Date.now();
      const error = (await driver.runCheck('master_key', ctx).catch((e: unknown) => e)) as DriverError;
      expect(error.code).toBe('DIAG-LINK-003');
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('garbage around frames does not disturb the exchange', async () => {
      const result = await openThen('garbage', async (d, c) => [
        await d.runCheck('self_test', c),
        await d.identify(c),
      ]);
      expect(result).toMatchObject([{ status: 'pass' }, { serialNumber: '791A23004512' }]);
    });

    it('card_reader_failure: the readers are missing from the hardware list', async () => {
      const result = await openThen('card_reader_failure', (d, c) => d.runCheck('hardware', c));
      expect(result).toMatchObject({
        status: 'pass',
        values: { smartCardReader: false, magneticStripeReader: false },
      });
    });
  });

  it('a real unplug (transport lost) ends the command at once with DIAG-LINK-003', async () => {
    const { driver, host, sim } = await setup('healthy', [], { responseTimeoutMs: 20_000 });
    const { ctx } = context();
    await driver.open(ctx);
    sim.setFaults(['slow']);
    setTimeout(() => (host as MemoryTransport).unplug(), 30);
    const started = Date.now();
    const error = (await driver.runCheck('self_test', ctx).catch((e: unknown) => e)) as DriverError;
    expect(error.code).toBe('DIAG-LINK-003');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('cancel() ends a pending command promptly', async () => {
    const { driver, sim } = await setup('healthy', [], { responseTimeoutMs: 20_000 });
    const { ctx } = context();
    await driver.open(ctx);
    sim.setFaults(['slow']);
    const pending = driver.runCheck('self_test', ctx).catch((e: unknown) => e);
    setTimeout(() => void driver.cancel(), 30);
    const error = await pending;
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).message).toMatch(/cancelled/);
    // the next command works again (the runner goes on after a timed-out step)
    sim.setFaults([]);
    expect(await driver.runCheck('self_test', ctx)).toMatchObject({ status: 'pass' });
  });

  it('ignores stale bytes that arrive right after the port is opened', async () => {
    const { driver, device } = await setup('healthy');
    const { ctx } = context();
    // a late answer to another session's hardware query: taken for our first answer, it would fail the handshake
    const stale = new TextEncoder().encode('1C\x1cSAM');
    const opening = driver.open(ctx);
    setTimeout(() => {
      void device.write(Uint8Array.of(0x06));
      void device.write(Uint8Array.from([0x0f, ...stale, 0x0e, stale.reduce((a, b) => a ^ b, 0x0e)]));
    }, 10);
    await opening;
    expect((await driver.identify(ctx)).serialNumber).toBe('791A23004512');
  });

  it('can be closed and opened again', async () => {
    const { driver } = await setup('healthy');
    const { ctx } = context();
    await driver.open(ctx);
    await driver.close(ctx);
    await driver.open(ctx);
    expect((await driver.identify(ctx)).serialNumber).toBe('791A23004512');
  });

  it('parses the 1C hardware list', () => {
    expect(parseHardware('1C\x1cICC\x1cMSR')).toEqual(['ICC', 'MSR']);
    expect(parseHardware('1C0')).toEqual([]);
  });
});

function popcount(b: number): number {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
}
