import { describe, expect, it } from 'vitest';
import { FakeDriver } from '../diagnostics/fake-driver.test-support.ts';
import { ABECS_LINE_SETTINGS } from '../diagnostics/protocols.ts';
import { MemoryTransport } from '../transport/memory-transport.ts';
import { DeviceService } from './device-service.ts';
import { createDeviceServiceHandlers } from './requests.ts';

function handlers() {
  const service = new DeviceService({
    serialProtocols: [
      {
        protocol: 'abecs',
        family: 'abecs_pinpad',
        lineSettings: ABECS_LINE_SETTINGS,
        createDriver: () => new FakeDriver(),
      },
    ],
    createSerialTransport: (p) => new MemoryTransport(p),
  });
  return createDeviceServiceHandlers(service);
}

describe('createDeviceServiceHandlers', () => {
  it('refuses malformed payloads with a bad_request sentence instead of throwing', async () => {
    const h = handlers();
    const bad = await h.connect({ path: '', protocol: 'telnet' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.code).toBe('bad_request');
    expect(bad.error.sentence.fa.length).toBeGreaterThan(0);
    expect((await h.identify({ sessionId: 's', extra: 1 })).ok).toBe(false);
    expect((await h.getRun(null)).ok).toBe(false);
  });

  it('connects, runs and reports through the map, with service errors as payloads', async () => {
    const h = handlers();
    const connected = await h.connect({
      path: '/tmp/ttyEMDAD0',
      protocol: 'abecs',
      line: { baudRate: 19200 },
    });
    expect(connected.ok).toBe(true);
    if (!connected.ok) return;
    const again = await h.connect({ path: '/tmp/ttyEMDAD0' });
    expect(again).toMatchObject({
      ok: false,
      error: { code: 'port_in_session', diagnosticCode: 'DIAG-PORT-001' },
    });
    const run = await h.runSuite({ sessionId: connected.value.sessionId, language: 'fa' });
    expect(run.ok).toBe(true);
    if (!run.ok) return;
    const status = await h.getRun({ runId: run.value.runId });
    expect(status.ok && status.value.runId).toBe(run.value.runId);
    const missing = await h.getRun({ runId: 'missing' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'run_not_found' } });
    expect(await h.disconnect({ sessionId: connected.value.sessionId })).toEqual({ ok: true, value: null });
  });
});
