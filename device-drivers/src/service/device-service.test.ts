import { describe, expect, it } from 'vitest';
import type { DeviceServiceEvent } from './device-service.ts';
import { DeviceService, type SerialProtocolSupport } from './device-service.ts';
import { DeviceServiceError, toServiceErrorPayload } from './errors.ts';
import {
  FakeDriver,
  hangUntilAborted,
  type FakeDriverScript,
} from '../diagnostics/fake-driver.test-support.ts';
import { ABECS_LINE_SETTINGS } from '../diagnostics/protocols.ts';
import { ABECS_PINPAD_SUITE } from '../diagnostics/suites.ts';
import { MemoryTransport } from '../transport/memory-transport.ts';
import { TransportError } from '../transport/transport.ts';

interface Harness {
  service: DeviceService;
  transports: MemoryTransport[];
  events: DeviceServiceEvent[];
  drivers: FakeDriver[];
}

function harness(
  options: {
    script?: FakeDriverScript;
    answers?: boolean;
    openError?: TransportError;
    /** While > 0, each open fails with not_found (and counts down): a device not back yet. */
    missing?: { opensLeft: number; tries: number };
  } = {},
): Harness {
  const transports: MemoryTransport[] = [];
  const drivers: FakeDriver[] = [];
  const abecs: SerialProtocolSupport = {
    protocol: 'abecs',
    family: 'abecs_pinpad',
    lineSettings: ABECS_LINE_SETTINGS,
    createDriver: () => {
      const d = new FakeDriver({ ...options.script, probe: async () => options.answers ?? true });
      drivers.push(d);
      return d;
    },
  };
  const service = new DeviceService({
    serialProtocols: [abecs],
    createSerialTransport: (path) => {
      const t = new MemoryTransport(path);
      const missing = options.missing;
      if (missing) {
        const open = t.open.bind(t);
        t.open = async () => {
          missing.tries += 1;
          if (missing.opensLeft > 0) {
            missing.opensLeft -= 1;
            throw new TransportError('not_found', 'not there yet');
          }
          return open();
        };
      }
      if (options.openError) {
        const err = options.openError;
        t.open = async () => {
          throw err;
        };
      }
      transports.push(t);
      return t;
    },
    discover: async () => [
      {
        kind: 'serial',
        path: '/dev/ttyUSB0',
        vendorId: '1234',
        productId: '5678',
        serialNumber: 'A1',
        manufacturer: 'FTDI',
      },
      { kind: 'hid', path: '/dev/hidraw0', vendorId: '0801', productId: '0002' },
    ],
  });
  const events: DeviceServiceEvent[] = [];
  service.subscribe((e) => events.push(e));
  return { service, transports, events, drivers };
}

/** Resolves when the run reaches `stepId` (no sleeping: the test follows the run's own events). */
function stepStarted(service: DeviceService, stepId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = service.subscribe((e) => {
      if (
        e.kind === 'diagnostic_progress' &&
        e.data.event.type === 'step_started' &&
        e.data.event.stepId === stepId
      ) {
        off();
        resolve();
      }
    });
  });
}

async function expectServiceError(promise: Promise<unknown>, code: string): Promise<DeviceServiceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeviceServiceError);
  expect((error as DeviceServiceError).code).toBe(code);
  return error as DeviceServiceError;
}

describe('DeviceService', () => {
  it('lists discovered devices and paths added by hand, marking the ones in a session', async () => {
    const { service } = harness();
    service.addPath('/tmp/ttyEMDAD0');
    service.addPath('/dev/ttyUSB0'); // already discovered: listed once
    const session = await service.connect('/tmp/ttyEMDAD0');
    const list = await service.listDevices();
    expect(list.map((d) => [d.path, d.kind, d.source, d.sessionId])).toEqual([
      ['/dev/ttyUSB0', 'serial', 'discovered', null],
      ['/dev/hidraw0', 'hid', 'discovered', null],
      ['/tmp/ttyEMDAD0', 'serial', 'added', session.sessionId],
    ]);
    expect(list[0]).toMatchObject({
      vendorId: '1234',
      productId: '5678',
      serialNumber: 'A1',
      manufacturer: 'FTDI',
    });
  });

  it('connects with auto-detect, allows one session per port, and frees the port on disconnect', async () => {
    const { service, transports, events } = harness();
    const session = await service.connect('/dev/ttyUSB0');
    expect(session).toMatchObject({
      path: '/dev/ttyUSB0',
      protocol: 'abecs',
      family: 'abecs_pinpad',
      state: 'connected',
    });
    expect(session.line?.baudRate).toBe(19200);
    expect(session.detection.map((a) => a.outcome)).toEqual(['recognised']);

    const busy = await expectServiceError(service.connect('/dev/ttyUSB0'), 'port_in_session');
    expect(busy.sentence.fa).toContain('متصل');
    expect(busy.diagnosticCode).toBe('DIAG-PORT-001');

    await service.disconnect(session.sessionId);
    expect(transports[0]?.isOpen).toBe(false);
    expect(events.at(-1)?.kind).toBe('session_closed');
    const again = await service.connect('/dev/ttyUSB0');
    expect(again.sessionId).not.toBe(session.sessionId);
  });

  it('explains port errors: busy, and permission with the dialout hint', async () => {
    const busy = harness({ openError: new TransportError('port_busy', 'EBUSY') });
    const e1 = await expectServiceError(busy.service.connect('/dev/ttyUSB0'), 'port_busy');
    expect(e1.diagnosticCode).toBe('DIAG-PORT-001');
    const denied = harness({ openError: new TransportError('permission_denied', 'EACCES') });
    const e2 = await expectServiceError(denied.service.connect('/dev/ttyUSB0'), 'permission_denied');
    expect(e2.sentence.en).toContain('dialout');
    expect(e2.sentence.fa).toContain('dialout');
    expect(toServiceErrorPayload(e2)).toMatchObject({
      code: 'permission_denied',
      diagnosticCode: 'DIAG-PORT-002',
    });
    // The failed connect did not keep the port reserved.
    await expectServiceError(denied.service.connect('/dev/ttyUSB0'), 'permission_denied');
  });

  it('says protocol not recognised when nothing answers, and leaves the port closed and free', async () => {
    const { service, transports } = harness({ answers: false });
    const error = await expectServiceError(service.connect('/dev/ttyUSB0'), 'protocol_not_recognised');
    expect(error.diagnosticCode).toBe('DIAG-LINK-004');
    expect(transports.every((t) => !t.isOpen)).toBe(true);
    await expectServiceError(
      service.connect('/dev/ttyUSB0', { protocol: 'abecs' }),
      'protocol_not_recognised',
    );
    // Without the probe an explicit protocol is accepted (the suite will show where it fails).
    const session = await service.connect('/dev/ttyUSB0', { protocol: 'abecs', probe: false });
    expect(session.protocol).toBe('abecs');
  });

  it('identifies the device and keeps the identity on the session', async () => {
    const { service, drivers } = harness();
    const { sessionId } = await service.connect('/dev/ttyUSB0');
    const identity = await service.identify(sessionId);
    expect(identity.serialNumber).toBe('SN123456');
    expect(service.getSession(sessionId).identity?.model).toBe('PP-1000');
    expect(drivers[0]?.calls).toEqual(['probe', 'open', 'identify', 'close']);
  });

  it('runs the suite with progress events, one operation at a time', async () => {
    const { service, events } = harness();
    const { sessionId } = await service.connect('/dev/ttyUSB0');
    const { runId } = service.runSuite(sessionId);
    expect(service.getRun(runId).state).toBe('running');
    await expectServiceError(service.identify(sessionId), 'session_busy');
    expect(() => service.runSuite(sessionId)).toThrow(DeviceServiceError);
    const result = await service.waitForRun(runId);
    expect(result.verdict).toBe('healthy');
    expect(result.suite).toBe(ABECS_PINPAD_SUITE.name);
    expect(service.getRun(runId)).toMatchObject({ state: 'finished', result });
    const progress = events.filter((e) => e.kind === 'diagnostic_progress');
    expect(progress.length).toBeGreaterThan(ABECS_PINPAD_SUITE.steps.length);
    expect(progress.every((e) => e.kind === 'diagnostic_progress' && e.data.runId === runId)).toBe(true);
    expect(events.filter((e) => e.kind === 'run_finished')).toHaveLength(1);
    expect(service.getSession(sessionId)).toMatchObject({ state: 'connected', runId: null });
  });

  it('cancels a run: the device is told, the run ends incomplete, the session stays usable', async () => {
    const { service, drivers } = harness({ script: { check: { keypad: (ctx) => hangUntilAborted(ctx) } } });
    const { sessionId } = await service.connect('/dev/ttyUSB0');
    const reached = stepStarted(service, 'keypad');
    const { runId } = service.runSuite(sessionId);
    await reached;
    const result = await service.cancel(runId);
    expect(result.verdict).toBe('incomplete');
    expect(drivers[0]?.calls).toContain('cancel');
    expect(service.getSession(sessionId).state).toBe('connected');
  });

  it('a device unplugged mid-run ends the run with DIAG-LINK-003, reports the session lost and frees the port', async () => {
    const { service, transports, events } = harness({
      script: { check: { display: (ctx) => hangUntilAborted(ctx) } },
    });
    const { sessionId } = await service.connect('/dev/ttyUSB0');
    const reached = stepStarted(service, 'display');
    const { runId } = service.runSuite(sessionId);
    await reached;
    transports[0]?.unplug();
    const result = await service.waitForRun(runId);
    expect(result.verdict).toBe('incomplete');
    expect(result.steps.find((s) => s.id === 'display')).toMatchObject({
      status: 'fail',
      errorCode: 'DIAG-LINK-003',
    });
    const lost = events.find((e) => e.kind === 'session_lost');
    expect(lost?.kind === 'session_lost' && lost.data.error.code).toBe('unplugged');
    expect(service.getSession(sessionId).state).toBe('lost');
    await expectServiceError(service.identify(sessionId), 'unplugged');
    // The cable is back: the same port connects again without disconnecting the lost session first.
    const again = await service.connect('/dev/ttyUSB0');
    expect(again.state).toBe('connected');
    await service.disconnect(sessionId);
    expect(service.listSessions().map((s) => s.sessionId)).toEqual([again.sessionId]);
  });

  it('unknown sessions and runs are clear errors', async () => {
    const { service } = harness();
    await expectServiceError(service.identify('nope'), 'session_not_found');
    expect(() => service.getRun('nope')).toThrow(/not known/);
  });
});

describe('DeviceService device watching', () => {
  it('reports devices plugged in and pulled out between polls, with a vendor label', async () => {
    let attached = [{ kind: 'serial' as const, path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' }];
    const service = new DeviceService({
      serialProtocols: [],
      createSerialTransport: (p) => new MemoryTransport(p),
      discover: async () => attached,
    });
    const changes: DeviceServiceEvent[] = [];
    service.subscribe((e) => changes.push(e));
    await service.startWatching({ intervalMs: 60_000 });
    expect(changes).toEqual([]); // the first poll is the baseline
    attached = [{ kind: 'serial', path: '/dev/ttyUSB1', vendorId: '0b00', productId: '0001' }];
    await service.pollDevices();
    expect(changes).toHaveLength(1);
    const change = changes[0];
    expect(change?.kind === 'devices_changed' && change.data.added.map((d) => [d.path, d.label])).toEqual([
      ['/dev/ttyUSB1', 'Ingenico'],
    ]);
    expect(change?.kind === 'devices_changed' && change.data.removed.map((d) => [d.path, d.label])).toEqual([
      ['/dev/ttyUSB0', 'FTDI USB-serial adapter'],
    ]);
    await service.pollDevices();
    expect(changes).toHaveLength(1); // nothing changed
    await service.shutdown();
  });
});

describe('DeviceService.reconnect', () => {
  it('waits for an unplugged device to come back on its port and opens a new session', async () => {
    const missing = { opensLeft: 0, tries: 0 };
    const { service, transports } = harness({ missing });
    const first = await service.connect('/dev/ttyUSB0');
    transports[0]?.unplug();
    expect(service.getSession(first.sessionId).state).toBe('lost');
    // The port is missing for the next two tries, then the device is back.
    missing.opensLeft = 2;
    missing.tries = 0;
    const session = await service.reconnect(first.sessionId, { intervalMs: 1, timeoutMs: 5_000 });
    expect(session.state).toBe('connected');
    expect(session.sessionId).not.toBe(first.sessionId);
    expect(missing.tries).toBe(3);
    expect(service.listSessions().map((s) => s.sessionId)).toEqual([session.sessionId]);
  });

  it('gives up with the last error after its deadline, and refuses a session that is not lost', async () => {
    const missing = { opensLeft: 0, tries: 0 };
    const { service, transports } = harness({ missing });
    const first = await service.connect('/dev/ttyUSB0');
    await expectServiceError(service.reconnect(first.sessionId), 'still_connected');
    transports[0]?.unplug();
    missing.opensLeft = Number.POSITIVE_INFINITY;
    await expectServiceError(
      service.reconnect(first.sessionId, { intervalMs: 1, timeoutMs: 20 }),
      'not_found',
    );
    expect(service.getSession(first.sessionId).state).toBe('lost');
  });
});
