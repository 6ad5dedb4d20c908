import { describe, expect, it } from 'vitest';
import { DEVICE_CHANNELS } from '@emdad/domain';
import { createDeviceHandlerMap } from './handlers.ts';
import { registerDeviceIpc, type IpcInvokeEventLike, type IpcMainLike } from './ipc.ts';

type Listener = (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>;

function fakeIpcMain() {
  const handlers = new Map<string, Listener>();
  const ipcMain: IpcMainLike = {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
  };
  return { ipcMain, handlers };
}

const map = createDeviceHandlerMap({
  backend: { serviceName: 'ipc test', now: () => new Date(0) },
  transport: 'ipc',
});
const APP = 'file:///app/index.html';

describe('device IPC registration', () => {
  it('registers one handler per channel and removes them all', () => {
    const { ipcMain, handlers } = fakeIpcMain();
    const unregister = registerDeviceIpc(ipcMain, map, (url) => url === APP);
    expect([...handlers.keys()].sort()).toEqual(Object.values(DEVICE_CHANNELS).sort());
    unregister();
    expect(handlers.size).toBe(0);
  });

  it('answers the app frame through the validated handler map', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerDeviceIpc(ipcMain, map, (url) => url === APP);
    const ping = handlers.get(DEVICE_CHANNELS.ping)!;
    expect(await ping({ senderFrame: { url: APP } }, { nonce: 'z' })).toEqual({
      ok: true,
      value: { nonce: 'z', at: new Date(0).toISOString() },
    });
    expect(await ping({ senderFrame: { url: APP } }, { nonce: 1 })).toMatchObject({
      ok: false,
      error: { code: 'bad_request' },
    });
  });

  it('refuses a foreign or missing sender frame', async () => {
    const { ipcMain, handlers } = fakeIpcMain();
    registerDeviceIpc(ipcMain, map, (url) => url === APP);
    const version = handlers.get(DEVICE_CHANNELS.version)!;
    expect(await version({ senderFrame: { url: 'https://evil.example/' } }, {})).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await version({ senderFrame: null }, {})).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
  });
});
