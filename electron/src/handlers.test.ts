import { describe, expect, it } from 'vitest';
import { DEVICE_API_VERSION, DEVICE_CHANNELS } from '@emdad/domain';
import {
  createDeviceHandlerMap,
  dispatchDeviceRequest,
  isDeviceChannel,
  type DeviceBackend,
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

  it('reports the transport it was built for', async () => {
    const handlers = createDeviceHandlerMap({ backend, transport: 'websocket' });
    const result = await handlers[DEVICE_CHANNELS.version]({});
    expect(result.ok && result.value.transport).toBe('websocket');
  });
});
