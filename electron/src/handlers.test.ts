import { describe, expect, it } from 'vitest';
import { DEVICE_API_VERSION, DEVICE_CHANNELS, deviceErrorSentence } from '@emdad/domain';
import {
  createDeviceHandlerMap,
  DEVICE_SERVICE_CHANNELS,
  dispatchDeviceRequest,
  isDeviceChannel,
  type DeviceBackend,
  type DeviceServiceOperations,
} from './handlers.ts';

const fixedNow = new Date('2026-11-23T10:00:00.000Z');
const backend: DeviceBackend = { serviceName: 'test service', now: () => fixedNow };

function makeHandlers(overrides: Partial<DeviceBackend> = {}, log?: (m: string, e: unknown) => void) {
  return createDeviceHandlerMap({
    backend: { ...backend, ...overrides },
    transport: 'ipc',
    log: log ?? (() => undefined),
  });
}

describe('device handler map', () => {
  it('has exactly one handler per declared channel', () => {
    expect(Object.keys(makeHandlers()).sort()).toEqual(Object.values(DEVICE_CHANNELS).sort());
  });

  it('answers version with the API version, service name and transport', async () => {
    const result = await dispatchDeviceRequest(makeHandlers(), DEVICE_CHANNELS.version, {});
    expect(result).toEqual({
      ok: true,
      value: { apiVersion: DEVICE_API_VERSION, service: 'test service', transport: 'ipc' },
    });
  });

  it('accepts a missing payload where the schema allows an empty object', async () => {
    const result = await dispatchDeviceRequest(makeHandlers(), DEVICE_CHANNELS.version, undefined);
    expect(result.ok).toBe(true);
  });

  it('echoes the ping nonce with the service time', async () => {
    const result = await dispatchDeviceRequest(makeHandlers(), DEVICE_CHANNELS.ping, { nonce: 'abc' });
    expect(result).toEqual({ ok: true, value: { nonce: 'abc', at: fixedNow.toISOString() } });
  });

  it.each([
    ['no nonce', DEVICE_CHANNELS.ping, {}],
    ['nonce of the wrong type', DEVICE_CHANNELS.ping, { nonce: 42 }],
    ['nonce too long', DEVICE_CHANNELS.ping, { nonce: 'x'.repeat(65) }],
    ['an extra field', DEVICE_CHANNELS.ping, { nonce: 'a', extra: true }],
    ['an extra field on version', DEVICE_CHANNELS.version, { please: 'run as root' }],
    ['a string payload', DEVICE_CHANNELS.ping, 'nonce'],
    ['an array payload', DEVICE_CHANNELS.version, []],
    ['null payload for ping', DEVICE_CHANNELS.ping, null],
  ])('refuses %s with bad_request', async (_label, channel, payload) => {
    const result = await dispatchDeviceRequest(makeHandlers(), channel, payload);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('bad_request');
      expect(result.error.message).toContain(channel);
    }
  });

  it.each([
    'device:format-disk',
    '',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    42,
    null,
    undefined,
    {},
  ])('refuses the unknown channel %j', async (channel) => {
    const result = await dispatchDeviceRequest(makeHandlers(), channel, {});
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(isDeviceChannel(channel)).toBe(false);
  });

  it('turns a throwing backend into an internal error result and logs it', async () => {
    const logged: string[] = [];
    const handlers = makeHandlers(
      {
        now: () => {
          throw new Error('clock broke');
        },
      },
      (message) => logged.push(message),
    );
    const result = await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.ping, { nonce: 'n' });
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged).toEqual([`device handler ${DEVICE_CHANNELS.ping} failed`]);
  });

  it('device:reconnect takes a session id and an optional bounded wait, and hands only that to the service', async () => {
    const seen: unknown[] = [];
    const session = { sessionId: 'new-session', path: '/dev/ttyUSB0', state: 'connected' };
    const operations = Object.fromEntries(
      DEVICE_SERVICE_CHANNELS.map((channel) => [
        channel,
        async (request: unknown) => {
          seen.push([channel, request]);
          return { ok: true, value: session };
        },
      ]),
    ) as unknown as DeviceServiceOperations;
    const handlers = makeHandlers({ operations });
    for (const bad of [
      {},
      { sessionId: '' },
      { sessionId: 's1', timeoutMs: -1 },
      { sessionId: 's1', timeoutMs: 1.5 },
      { sessionId: 's1', timeoutMs: 300_001 },
      { sessionId: 's1', timeoutMs: '5000' },
      { sessionId: 's1', path: '/dev/ttyUSB1' },
    ]) {
      expect(
        await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.reconnect, bad),
        JSON.stringify(bad),
      ).toMatchObject({
        ok: false,
        error: { code: 'bad_request' },
      });
    }
    expect(seen).toEqual([]);
    expect(await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.reconnect, { sessionId: 's1' })).toEqual({
      ok: true,
      value: session,
    });
    await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.reconnect, { sessionId: 's1', timeoutMs: 5_000 });
    expect(seen).toEqual([
      [DEVICE_CHANNELS.reconnect, { sessionId: 's1' }],
      [DEVICE_CHANNELS.reconnect, { sessionId: 's1', timeoutMs: 5_000 }],
    ]);
  });

  it('reports the transport it was built for', async () => {
    const handlers = createDeviceHandlerMap({ backend, transport: 'websocket' });
    const result = await handlers[DEVICE_CHANNELS.version]({});
    expect(result.ok && result.value.transport).toBe('websocket');
  });

  it('answers device-service channels with service_unavailable, in words, when no service is behind it', async () => {
    const result = await dispatchDeviceRequest(makeHandlers(), DEVICE_CHANNELS.listDevices, {});
    expect(result).toMatchObject({ ok: false, error: { code: 'service_unavailable' } });
    if (!result.ok) expect(deviceErrorSentence(result.error, 'fa')).toMatch(/سرویس دستگاه/);
  });

  it('hands the device service only validated requests and passes its answers through', async () => {
    const seen: unknown[] = [];
    const operations = Object.fromEntries(
      DEVICE_SERVICE_CHANNELS.map((channel) => [
        channel,
        async (request: unknown) => {
          seen.push([channel, request]);
          return {
            ok: false,
            error: { code: 'port_busy', message: 'busy', sentence: { en: 'Busy.', fa: 'مشغول.' } },
          };
        },
      ]),
    ) as unknown as DeviceServiceOperations;
    const handlers = makeHandlers({ operations });
    expect(
      await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.connect, {
        path: '/dev/ttyUSB0',
        protocol: 'telnet',
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
    expect(await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.connect, { path: 'COM3\0' })).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
    expect(seen).toEqual([]);
    expect(
      await dispatchDeviceRequest(handlers, DEVICE_CHANNELS.connect, {
        path: '/dev/ttyUSB0',
        protocol: 'abecs',
      }),
    ).toEqual({
      ok: false,
      error: { code: 'port_busy', message: 'busy', sentence: { en: 'Busy.', fa: 'مشغول.' } },
    });
    expect(seen).toEqual([[DEVICE_CHANNELS.connect, { path: '/dev/ttyUSB0', protocol: 'abecs' }]]);
  });
});
