/**
 * The objects the preload exposes, built from an injected IPC renderer so they are tested in Node
 * without Electron. `preload.ts` only wires these to `contextBridge`.
 *
 * Exposed surface, and nothing else (Electron security checklist: "do not expose ipcRenderer"):
 * - `window.emdadDevice`: `invoke(channel, payload)` for the allowlisted device channels, and
 *   `onEvent(listener)` returning an unsubscribe function;
 * - `window.emdadConfig`: `{ serverUrl }`.
 */
import {
  DEVICE_CHANNELS,
  DEVICE_EVENT_CHANNEL,
  type DeviceBridge,
  type DeviceChannel,
  type DeviceEvent,
  type DeviceResult,
  type EmdadRuntimeConfig,
} from '@emdad/domain/device-api';
import { DEFAULT_SERVER_URL } from './config.ts';

/** Passed by the main process through `webPreferences.additionalArguments`. */
export const SERVER_URL_ARGUMENT = '--emdad-server-url=';

/** The part of Electron's `ipcRenderer` the preload uses. */
export interface PreloadIpc {
  invoke(channel: string, payload: unknown): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

const ALLOWED_CHANNELS: ReadonlySet<string> = new Set(Object.values(DEVICE_CHANNELS));

export function createDeviceBridge(ipc: PreloadIpc): DeviceBridge {
  return {
    invoke<C extends DeviceChannel>(channel: C, request: unknown): Promise<DeviceResult<C>> {
      // The renderer is less trusted than the preload: refuse before anything crosses to main.
      if (typeof channel !== 'string' || !ALLOWED_CHANNELS.has(channel)) {
        return Promise.resolve({
          ok: false,
          error: { code: 'bad_request', message: `Unknown device channel: ${String(channel).slice(0, 64)}` },
        });
      }
      return ipc.invoke(channel, request) as Promise<DeviceResult<C>>;
    },
    onEvent(listener: (event: DeviceEvent) => void): () => void {
      if (typeof listener !== 'function') throw new TypeError('onEvent needs a listener function');
      // Never hand the IPC event object (it carries `sender`) to the page: only the payload.
      const wrapped = (_event: unknown, payload?: unknown): void => listener(payload as DeviceEvent);
      ipc.on(DEVICE_EVENT_CHANNEL, wrapped);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        ipc.removeListener(DEVICE_EVENT_CHANNEL, wrapped);
      };
    },
  };
}

/** Reads `{ serverUrl }` from the process arguments the main process added. */
export function runtimeConfigFromArgv(argv: readonly string[]): EmdadRuntimeConfig {
  const argument = argv.find((arg) => arg.startsWith(SERVER_URL_ARGUMENT));
  const serverUrl = argument?.slice(SERVER_URL_ARGUMENT.length);
  return Object.freeze({
    serverUrl: serverUrl && /^https?:\/\//.test(serverUrl) ? serverUrl : DEFAULT_SERVER_URL,
  });
}
