/**
 * The backend behind the device API in a running app (Electron main process or the local agent).
 * Version and ping need no hardware; the device service plugs in here when it lands.
 */
import { DEVICE_SERVICE_NAME } from './config.ts';
import type { DeviceBackend } from './handlers.ts';

export function createLocalDeviceBackend(): DeviceBackend {
  return {
    serviceName: DEVICE_SERVICE_NAME,
    now: () => new Date(),
  };
}
