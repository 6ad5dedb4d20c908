import { describe, expect, it } from 'vitest';
import { DEVICE_CHANNELS, DEVICE_EVENT_CHANNEL } from '@emdad/domain';
import { DEFAULT_SERVER_URL } from './config.ts';
import {
  createDeviceBridge,
  runtimeConfigFromArgv,
  SERVER_URL_ARGUMENT,
  type PreloadIpc,
} from './preload-api.ts';

type Listener = (event: unknown, ...args: unknown[]) => void;

function fakeIpc() {
  const invoked: [string, unknown][] = [];
  const listeners = new Map<string, Set<Listener>>();
  const ipc: PreloadIpc = {
    async invoke(channel, payload) {
      invoked.push([channel, payload]);
      return { ok: true, value: { echoed: channel } };
    },
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener);
    },
  };
  const emit = (channel: string, payload: unknown) => {
    for (const l of listeners.get(channel) ?? []) l({ sender: 'secret ipc event object' }, payload);
  };
  return { ipc, invoked, listeners, emit };
}

describe('preload device bridge', () => {
  it('forwards allowlisted channels to main', async () => {
    const { ipc, invoked } = fakeIpc();
    const bridge = createDeviceBridge(ipc);
    await bridge.invoke(DEVICE_CHANNELS.ping, { nonce: 'n' });
    expect(invoked).toEqual([[DEVICE_CHANNELS.ping, { nonce: 'n' }]]);
  });

  it('refuses other channels without crossing to main', async () => {
    const { ipc, invoked } = fakeIpc();
    const bridge = createDeviceBridge(ipc) as unknown as { invoke(c: unknown, p: unknown): Promise<unknown> };
    for (const channel of ['electron:open-devtools', DEVICE_EVENT_CHANNEL, '__proto__', 7, null]) {
      expect(await bridge.invoke(channel, {})).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    expect(invoked).toEqual([]);
  });

  it('delivers only the event payload to listeners and unsubscribes once', () => {
    const { ipc, listeners, emit } = fakeIpc();
    const bridge = createDeviceBridge(ipc);
    const seen: unknown[] = [];
    const unsubscribe = bridge.onEvent((event) => seen.push(event));
    const event = {
      kind: 'session_closed',
      at: '2026-11-23T10:00:00.000Z',
      data: { sessionId: 's', path: '/dev/ttyS0' },
    };
    emit(DEVICE_EVENT_CHANNEL, event);
    expect(seen).toEqual([event]);
    unsubscribe();
    unsubscribe();
    emit(DEVICE_EVENT_CHANNEL, event);
    expect(seen).toHaveLength(1);
    expect(listeners.get(DEVICE_EVENT_CHANNEL)?.size).toBe(0);
  });

  it('exposes only invoke and onEvent', () => {
    expect(Object.keys(createDeviceBridge(fakeIpc().ipc)).sort()).toEqual(['invoke', 'onEvent']);
  });
});

describe('runtime config from argv', () => {
  it('reads the server URL the main process passed', () => {
    expect(runtimeConfigFromArgv(['electron', `${SERVER_URL_ARGUMENT}http://10.0.0.9:8787`])).toEqual({
      serverUrl: 'http://10.0.0.9:8787',
    });
  });

  it('falls back to the default for a missing or non-http value', () => {
    expect(runtimeConfigFromArgv([])).toEqual({ serverUrl: DEFAULT_SERVER_URL });
    expect(runtimeConfigFromArgv([`${SERVER_URL_ARGUMENT}javascript:alert(1)`])).toEqual({
      serverUrl: DEFAULT_SERVER_URL,
    });
  });
});
