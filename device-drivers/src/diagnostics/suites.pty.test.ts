/**
 * Each family's suite, through the device service, against each simulator over real pseudo-terminals
 * (socat pairs; `serialport` on the host end), healthy and with every fault the simulators offer.
 * Protocol timings are shortened (as the drivers' own tests do) so a silent device costs
 * milliseconds, not the spec's seconds; the healthy runs use the production wiring unchanged.
 */
import type { DiagnosticRunResult, DiagnosticErrorCode } from '@emdad/domain';
import { afterEach, describe, expect, it } from 'vitest';
import { createAbecsPinpadDriver } from '../drivers/abecs-pinpad.ts';
import { createHidCardReaderDriver } from '../drivers/hid-card-reader.ts';
import { createPp791Driver } from '../drivers/pp791.ts';
import { DeviceService, type SerialProtocolSupport } from '../service/device-service.ts';
import { createDeviceService } from '../service/default-service.ts';
import { AbecsPinpadSimulator, loadAbecsScenario } from '../simulators/abecs-pinpad-sim.ts';
import { HidReaderSimulator, loadHidReaderScenario } from '../simulators/hid-reader-sim.ts';
import { Pp791Simulator, loadPp791Scenario } from '../simulators/pp791-sim.ts';
import type { DeviceSimulator, SimulatorFault } from '../simulators/simulator.ts';
import { startPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import { ABECS_LINE_SETTINGS, STX_LINE_SETTINGS } from './protocols.ts';

/**
 * Shortened link timers. The ones a healthy exchange must beat (ACK, next byte, EOT) stay at 1 s:
 * bytes cross socat, another process, which a busy 2-core CI machine may not schedule for a few
 * hundred ms. Only the fault cases pay for them.
 */
const FAST_ABECS: SerialProtocolSupport = {
  protocol: 'abecs',
  family: 'abecs_pinpad',
  lineSettings: ABECS_LINE_SETTINGS,
  createDriver: (t) =>
    createAbecsPinpadDriver(t, {
      timings: {
        ackTimeoutMs: 1_000,
        responseTimeoutMs: 1_500,
        silenceMs: 100,
        maxDiscardMs: 1_000,
        interByteTimeoutMs: 1_000,
        eotTimeoutMs: 1_000,
      },
      keyTimeoutMs: 1_000,
      eventTimeoutS: 1,
    }),
};
const FAST_STX: SerialProtocolSupport = {
  protocol: 'stx',
  family: 'pp791_terminal',
  lineSettings: STX_LINE_SETTINGS,
  createDriver: (t) =>
    createPp791Driver(t, { ackTimeoutMs: 1_000, responseTimeoutMs: 1_500, eotTimeoutMs: 1_000 }),
};
const FAST_STX_SOFT: SerialProtocolSupport = {
  ...FAST_STX,
  variant: '7E1 parity in software',
  createDriver: (t) =>
    createPp791Driver(t, {
      ackTimeoutMs: 1_000,
      responseTimeoutMs: 1_500,
      eotTimeoutMs: 1_000,
      mode: '7E1-soft',
    }),
};

interface Bench {
  pair: PtyPair;
  device: SerialTransport;
  simulator: DeviceSimulator;
  service: DeviceService;
}
const benches: Bench[] = [];

afterEach(async () => {
  for (const b of benches.splice(0)) {
    await b.service.shutdown();
    b.simulator.detach();
    await b.device.close().catch(() => undefined);
    await b.pair.stop();
  }
});

async function bench(
  kind: 'abecs' | 'pp791',
  scenario: string,
  faults: SimulatorFault[],
  options: { fast?: boolean; link?: string } = {},
): Promise<Bench> {
  const pair = await startPtyPair(options.link ? { link: options.link } : {});
  const device = new SerialTransport({ path: pair.devicePath });
  await device.open();
  const onUnplug = () => void pair.stop();
  const simulator =
    kind === 'abecs'
      ? new AbecsPinpadSimulator(await loadAbecsScenario(scenario), { slowExtraMs: 3_000, onUnplug })
      : new Pp791Simulator(await loadPp791Scenario(scenario), {
          slowExtraMs: 3_000,
          resendAfterMs: 5_000,
          onUnplug,
        });
  simulator.setFaults(faults);
  simulator.attach(device);
  const service =
    options.fast === false
      ? createDeviceService()
      : createDeviceService({ serialProtocols: [FAST_ABECS, FAST_STX, FAST_STX_SOFT] });
  const b = { pair, device, simulator, service };
  benches.push(b);
  return b;
}

async function runOn(
  b: Bench,
  protocol: 'auto' | 'abecs' | 'stx',
  variant?: string,
): Promise<DiagnosticRunResult> {
  const session = await b.service.connect(
    b.pair.hostPath,
    protocol === 'auto' ? {} : { protocol, probe: false },
  );
  if (variant) expect(session.variant).toBe(variant);
  const { runId } = b.service.runSuite(session.sessionId);
  return b.service.waitForRun(runId);
}

function step(result: DiagnosticRunResult, id: string) {
  const s = result.steps.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id}`);
  return s;
}

function expectLinkFailure(result: DiagnosticRunResult, code: DiagnosticErrorCode): void {
  expect(result.verdict).toBe('incomplete');
  expect(result.errorCodes).toContain(code);
  const failed = result.steps.find((s) => s.status === 'fail');
  expect(failed?.errorCode).toBe(code);
  // Support gets the wire: the failing step carries the frames that were exchanged.
  expect(failed?.frames.length).toBeGreaterThan(0);
  expect(result.steps.at(-1)?.status).toBe('skipped');
}

describe('ABECS PinPad suite over a pty', () => {
  it('healthy, production wiring: auto-detected, every step passes, identity and key maps read', async () => {
    const b = await bench('abecs', 'healthy', [], { fast: false });
    const result = await runOn(b, 'auto');
    expect(result.verdict).toBe('healthy');
    expect(result.steps.map((s) => s.status)).toEqual(Array(7).fill('pass'));
    expect(result.identity).toMatchObject({ manufacturer: 'INGENICO', serialNumber: '5C123456' });
    expect(step(result, 'open').frames.some((f) => f.direction === 'tx')).toBe(true);
  });

  it('no keys loaded: key slots flagged', async () => {
    const result = await runOn(await bench('abecs', 'no-keys', []), 'abecs');
    expect(step(result, 'key_slots').errorCode).toBe('DIAG-SEC-001');
    expect(['degraded', 'faulty']).toContain(result.verdict);
  });

  it('worn keypad scenario: keypad fails with DIAG-KEY-001, verdict faulty', async () => {
    const result = await runOn(await bench('abecs', 'worn-keypad', []), 'abecs');
    expect(step(result, 'keypad')).toMatchObject({ status: 'fail', errorCode: 'DIAG-KEY-001' });
    expect(result.verdict).toBe('faulty');
  });

  it.each<[SimulatorFault, DiagnosticErrorCode]>([
    ['bad_checksum', 'DIAG-LINK-002'],
    ['nak_storm', 'DIAG-LINK-002'],
    ['missing_ack', 'DIAG-LINK-001'],
    ['slow', 'DIAG-LINK-001'],
  ])('link fault %s → %s, incomplete, frames kept', async (fault, code) => {
    expectLinkFailure(await runOn(await bench('abecs', 'healthy', [fault]), 'abecs'), code);
  });

  it('garbage on the line is discarded: still healthy', async () => {
    const result = await runOn(await bench('abecs', 'healthy', ['garbage']), 'abecs');
    expect(result.verdict).toBe('healthy');
  });

  it('keypad failure → keypad DIAG-KEY-001, faulty; the rest still runs', async () => {
    const result = await runOn(await bench('abecs', 'healthy', ['keypad_failure']), 'abecs');
    expect(step(result, 'keypad')).toMatchObject({ status: 'fail', errorCode: 'DIAG-KEY-001' });
    expect(step(result, 'key_slots').status).toBe('pass');
    expect(step(result, 'close').status).toBe('pass');
    expect(result.verdict).toBe('faulty');
  });

  it('card reader failure → card events fail with a card code, faulty', async () => {
    const result = await runOn(await bench('abecs', 'healthy', ['card_reader_failure']), 'abecs');
    expect(step(result, 'card_events').status).toBe('fail');
    expect(step(result, 'card_events').errorCode).toMatch(/^DIAG-CARD-00[12]$/);
    expect(step(result, 'close').status).toBe('pass');
    expect(result.verdict).toBe('faulty');
  });

  it('unplugged mid-command (socat killed): DIAG-LINK-003 in bounded time; the port opens again', async () => {
    const link = `/tmp/emdad-c-unplug-${process.pid}`;
    const b = await bench('abecs', 'healthy', ['unplug_mid_command'], { link });
    const lost: string[] = [];
    b.service.subscribe((e) => {
      if (e.kind === 'session_lost') lost.push(e.data.error.code);
    });
    const started = Date.now();
    const result = await runOn(b, 'abecs');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.verdict).toBe('incomplete');
    expect(result.errorCodes).toContain('DIAG-LINK-003');
    expect(lost).toEqual(['unplugged']);

    // The cable is back (a new pty pair at the same path): connect and run again.
    const again = await bench('abecs', 'healthy', [], { link });
    const second = await b.service.connect(link, { protocol: 'abecs' });
    const { runId } = b.service.runSuite(second.sessionId);
    expect((await b.service.waitForRun(runId)).verdict).toBe('healthy');
    expect(again.pair.hostPath).toBe(link);
  });
});

describe('PP791-dialect terminal suite over a pty', () => {
  it('healthy, production wiring: auto-detected; display/keypad/card reported as not supported', async () => {
    const b = await bench('pp791', 'healthy', [], { fast: false });
    const result = await runOn(b, 'auto');
    expect(result.verdict).toBe('healthy');
    expect(result.identity?.serialNumber).toBe('791A23004512');
    for (const id of ['display', 'keypad', 'card_events']) {
      expect(step(result, id)).toMatchObject({
        status: 'not_supported',
        message: "Not supported by this device's protocol.",
      });
    }
    for (const id of ['open', 'identify', 'self_test', 'hardware', 'master_key', 'baud_rate', 'close'])
      expect(step(result, id).status).toBe('pass');
  });

  it('identify, then the suite on the same session: the driver reopens after identify closed it', async () => {
    const b = await bench('pp791', 'healthy', [], { fast: false });
    const session = await b.service.connect(b.pair.hostPath);
    expect((await b.service.identify(session.sessionId)).serialNumber).toBe('791A23004512');
    const { runId } = b.service.runSuite(session.sessionId);
    const result = await b.service.waitForRun(runId);
    expect(step(result, 'open').status).toBe('pass');
    expect(result.verdict).toBe('healthy');
    // And once more: identify after a full run (which closed the driver too).
    expect((await b.service.identify(session.sessionId)).serialNumber).toBe('791A23004512');
  });

  it('hardware fault on a 7E1 unit (parity in software): auto-detected, self-test DIAG-HW-001, faulty', async () => {
    const result = await runOn(await bench('pp791', 'hardware-fault', []), 'auto', '7E1 parity in software');
    expect(step(result, 'self_test')).toMatchObject({ status: 'fail', errorCode: 'DIAG-HW-001' });
    expect(result.verdict).toBe('faulty');
  });

  it('no master keys: DIAG-SEC-002', async () => {
    const result = await runOn(await bench('pp791', 'no-keys', []), 'stx');
    expect(result.errorCodes).toContain('DIAG-SEC-002');
    expect(['degraded', 'faulty']).toContain(result.verdict);
  });

  it.each<[SimulatorFault, DiagnosticErrorCode]>([
    ['bad_checksum', 'DIAG-LINK-002'],
    ['nak_storm', 'DIAG-LINK-002'],
    ['missing_ack', 'DIAG-LINK-001'],
    // "ACKed, then silent past the answer timeout" with the port still there is no answer, as on ABECS.
    ['slow', 'DIAG-LINK-001'],
  ])('link fault %s → %s, incomplete, frames kept', async (fault, code) => {
    expectLinkFailure(await runOn(await bench('pp791', 'healthy', [fault]), 'stx'), code);
  });

  it('garbage between frames: still healthy', async () => {
    expect((await runOn(await bench('pp791', 'healthy', ['garbage']), 'stx')).verdict).toBe('healthy');
  });

  it.each<SimulatorFault>(['keypad_failure', 'card_reader_failure'])(
    '%s cannot show on this protocol: the checks stay not_supported, never faked',
    async (fault) => {
      const result = await runOn(await bench('pp791', 'healthy', [fault]), 'stx');
      expect(step(result, 'keypad').status).toBe('not_supported');
      expect(step(result, 'card_events').status).toBe('not_supported');
      expect(result.verdict).toBe('healthy');
    },
  );

  it('unplugged mid-command (socat killed): DIAG-LINK-003 in bounded time; the port opens again', async () => {
    const link = `/tmp/emdad-c-unplug-stx-${process.pid}`;
    const b = await bench('pp791', 'healthy', ['unplug_mid_command'], { link });
    const started = Date.now();
    const result = await runOn(b, 'stx');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.verdict).toBe('incomplete');
    expect(result.errorCodes).toContain('DIAG-LINK-003');
    await bench('pp791', 'healthy', [], { link });
    const second = await b.service.connect(link);
    const { runId } = b.service.runSuite(second.sessionId);
    expect((await b.service.waitForRun(runId)).verdict).toBe('healthy');
  });
});

describe('HID card reader suite against the simulated reader (transport level)', () => {
  async function hidService(scenario: string, faults: SimulatorFault[] = []) {
    const sim = new HidReaderSimulator(await loadHidReaderScenario(scenario));
    sim.setFaults(faults);
    const service = new DeviceService({
      serialProtocols: [],
      createSerialTransport: () => {
        throw new Error('no serial here');
      },
      hid: {
        createTransport: () => sim,
        createDriver: (t) => createHidCardReaderDriver(t, { swipeTimeoutMs: 2_000, commandTimeoutMs: 500 }),
      },
      discover: async () => [{ ...sim.info, path: '/dev/hidraw7' }],
    });
    // The technician swipes when asked.
    service.subscribe((e) => {
      if (e.kind === 'diagnostic_progress' && e.data.event.type === 'prompt') sim.swipe();
    });
    return { sim, service };
  }

  it('healthy MagTek-style reader: listed as HID, connected as HID by "auto", swipe passes per track', async () => {
    const { service } = await hidService('magtek-healthy');
    const list = await service.listDevices();
    expect(list[0]).toMatchObject({ path: '/dev/hidraw7', kind: 'hid', vendorId: '0801' });
    const session = await service.connect('/dev/hidraw7');
    expect(session).toMatchObject({ protocol: 'hid', family: 'hid_card_reader', line: null });
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    expect(step(result, 'swipe').status).toBe('pass');
    expect(step(result, 'contactless').status).toBe('not_supported');
    expect(result.verdict).toBe('healthy');
    await service.shutdown();
  });

  it('card reader failure: the swipe step fails with DIAG-CARD-001', async () => {
    const { service } = await hidService('magtek-healthy', ['card_reader_failure']);
    await service.listDevices();
    const session = await service.connect('/dev/hidraw7');
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    expect(step(result, 'swipe')).toMatchObject({ status: 'fail', errorCode: 'DIAG-CARD-001' });
    expect(result.verdict).toBe('faulty');
    await service.shutdown();
  });

  it('reader pulled out mid-run: DIAG-LINK-003, session lost', async () => {
    const { sim, service } = await hidService('magtek-healthy');
    await service.listDevices();
    const session = await service.connect('/dev/hidraw7');
    service.subscribe((e) => {
      if (
        e.kind === 'diagnostic_progress' &&
        e.data.event.type === 'step_started' &&
        e.data.event.stepId === 'swipe'
      )
        sim.unplug();
    });
    const { runId } = service.runSuite(session.sessionId);
    const result = await service.waitForRun(runId);
    expect(result.errorCodes).toContain('DIAG-LINK-003');
    expect(result.verdict).toBe('incomplete');
    expect(service.getSession(session.sessionId).state).toBe('lost');
    await service.shutdown();
  });
});
