/**
 * Binds the device handler map to Electron's `ipcMain` (injected, so tested in Node). Each channel
 * gets one `handle`; the sender frame is checked before the handler map sees the payload.
 */
import { DEVICE_CHANNELS } from '@emdad/domain/device-api';
import type { Result } from '@emdad/domain/errors';
import type { DeviceApiError } from '@emdad/domain/device-api';
import { dispatchDeviceRequest, type DeviceHandlerMap } from './handlers.ts';

export interface IpcInvokeEventLike {
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(
    channel: string,
    listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>,
  ): void;
  removeHandler(channel: string): void;
}

export function registerDeviceIpc(
  ipcMain: IpcMainLike,
  handlers: DeviceHandlerMap,
  isTrustedSender: (frameUrl: string | undefined) => boolean,
): () => void {
  const channels = Object.values(DEVICE_CHANNELS);
  for (const channel of channels) {
    ipcMain.handle(channel, async (event, payload): Promise<Result<unknown, DeviceApiError>> => {
      if (!isTrustedSender(event.senderFrame?.url)) {
        return {
          ok: false,
          error: { code: 'forbidden', message: 'IPC from an untrusted frame was refused.' },
        };
      }
      return dispatchDeviceRequest(handlers, channel, payload);
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
