/**
 * The device service (device-drivers) behind the typed handler map. The service's own handler
 * layer (`createDeviceServiceHandlers`) turns its errors into sentences; this adapter maps each
 * domain channel to one of its operations. The assignments below are also the compile-time proof
 * that the service's values fit the wire types in `@emdad/domain/device-api`.
 */
import { DEVICE_CHANNELS, type DeviceEvent } from '@emdad/domain/device-api';
import type { DeviceService } from '@emdad/device-drivers/service/device-service';
import { createDeviceServiceHandlers } from '@emdad/device-drivers/service/requests';
import { DEVICE_SERVICE_NAME } from './config.ts';
import type { DeviceBackend, DeviceServiceOperations } from './handlers.ts';

export function deviceServiceOperations(service: DeviceService): DeviceServiceOperations {
  const op = createDeviceServiceHandlers(service);
  return {
    [DEVICE_CHANNELS.listDevices]: (request) => op.listDevices(request),
    [DEVICE_CHANNELS.addPath]: (request) => op.addPath(request),
    [DEVICE_CHANNELS.removePath]: (request) => op.removePath(request),
    [DEVICE_CHANNELS.listSessions]: (request) => op.listSessions(request),
    [DEVICE_CHANNELS.connect]: (request) => op.connect(request),
    [DEVICE_CHANNELS.identify]: (request) => op.identify(request),
    [DEVICE_CHANNELS.runSuite]: (request) => op.runSuite(request),
    [DEVICE_CHANNELS.getRun]: (request) => op.getRun(request),
    [DEVICE_CHANNELS.cancel]: (request) => op.cancel(request),
    [DEVICE_CHANNELS.disconnect]: (request) => op.disconnect(request),
    [DEVICE_CHANNELS.reconnect]: (request) => op.reconnect(request),
  };
}

export function createDeviceServiceBackend(
  service: DeviceService,
  now: () => Date = () => new Date(),
): DeviceBackend {
  return {
    serviceName: DEVICE_SERVICE_NAME,
    now,
    operations: deviceServiceOperations(service),
    subscribe: (listener: (event: DeviceEvent) => void) => service.subscribe(listener),
  };
}

/** Paths the OS listing never shows (a simulator's pty link), from EMDAD_DEVICE_PATHS. */
export function devicePathsFrom(value: string | undefined, delimiter: string): string[] {
  return (value ?? '')
    .split(delimiter)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
