/**
 * Request payloads of the device service (the device API contract's zod schemas, by operation), and a handler map that validates them and
 * answers `{ ok, value | error }` — what the Electron IPC handlers and the local agent wrap. The
 * channel names themselves live in `domain/src/device-api.ts` (owned by the electron layer).
 */
import type { z } from 'zod';
import {
  DEVICE_CHANNELS,
  deviceRequestSchemas,
  type DeviceIdentity,
  type DiagnosticRunResult,
} from '@emdad/domain';
import type { DeviceListing, DeviceService, RunInfo, SessionInfo } from './device-service.ts';
import { DeviceServiceError, toServiceErrorPayload, type DeviceServiceErrorPayload } from './errors.ts';

// The payloads are the device API contract's own schemas (domain/src/device-api.ts), keyed here by
// operation: one definition for IPC, the local agent and the service.
const schemaOf = <C extends keyof typeof DEVICE_CHANNELS>(operation: C) =>
  deviceRequestSchemas[DEVICE_CHANNELS[operation]];

export const deviceServiceRequestSchemas = {
  listDevices: schemaOf('listDevices'),
  addPath: schemaOf('addPath'),
  removePath: schemaOf('removePath'),
  listSessions: schemaOf('listSessions'),
  connect: schemaOf('connect'),
  identify: schemaOf('identify'),
  runSuite: schemaOf('runSuite'),
  getRun: schemaOf('getRun'),
  cancel: schemaOf('cancel'),
  disconnect: schemaOf('disconnect'),
  /** After `session_lost`: wait (up to timeoutMs, default 60 s) for the device and open a new session. */
  reconnect: schemaOf('reconnect'),
} as const;

export type DeviceServiceOperation = keyof typeof deviceServiceRequestSchemas;
export type DeviceServiceRequest<O extends DeviceServiceOperation> = z.infer<
  (typeof deviceServiceRequestSchemas)[O]
>;

export interface DeviceServiceResponses {
  listDevices: DeviceListing[];
  addPath: null;
  removePath: null;
  listSessions: SessionInfo[];
  connect: SessionInfo;
  identify: DeviceIdentity;
  runSuite: { runId: string };
  getRun: RunInfo;
  cancel: DiagnosticRunResult;
  disconnect: null;
  reconnect: SessionInfo;
}

export type DeviceServiceResult<T> = { ok: true; value: T } | { ok: false; error: DeviceServiceErrorPayload };

export type DeviceServiceHandlers = {
  [O in DeviceServiceOperation]: (
    payload: unknown,
  ) => Promise<DeviceServiceResult<DeviceServiceResponses[O]>>;
};

/** Validates each payload, calls the service, and never throws: errors come back as sentences. */
export function createDeviceServiceHandlers(service: DeviceService): DeviceServiceHandlers {
  function handler<O extends DeviceServiceOperation>(
    operation: O,
    call: (
      request: DeviceServiceRequest<O>,
    ) => Promise<DeviceServiceResponses[O]> | DeviceServiceResponses[O],
  ) {
    return async (payload: unknown): Promise<DeviceServiceResult<DeviceServiceResponses[O]>> => {
      const parsed = deviceServiceRequestSchemas[operation].safeParse(payload ?? {});
      if (!parsed.success) {
        return {
          ok: false,
          error: new DeviceServiceError(
            'bad_request',
            parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          ).toPayload(),
        };
      }
      try {
        return { ok: true, value: await call(parsed.data as DeviceServiceRequest<O>) };
      } catch (error) {
        return { ok: false, error: toServiceErrorPayload(error) };
      }
    };
  }
  return {
    listDevices: handler('listDevices', () => service.listDevices()),
    addPath: handler('addPath', (r) => {
      service.addPath(r.path);
      return null;
    }),
    removePath: handler('removePath', (r) => {
      service.removePath(r.path);
      return null;
    }),
    listSessions: handler('listSessions', () => service.listSessions()),
    connect: handler('connect', (r) => {
      const { path: p, ...options } = r;
      return service.connect(p, options);
    }),
    identify: handler('identify', (r) => service.identify(r.sessionId)),
    runSuite: handler('runSuite', (r) =>
      service.runSuite(r.sessionId, r.language ? { language: r.language } : {}),
    ),
    getRun: handler('getRun', (r) => service.getRun(r.runId)),
    cancel: handler('cancel', (r) => service.cancel(r.runId)),
    disconnect: handler('disconnect', async (r) => {
      await service.disconnect(r.sessionId);
      return null;
    }),
    reconnect: handler('reconnect', (r) =>
      service.reconnect(r.sessionId, r.timeoutMs === undefined ? {} : { timeoutMs: r.timeoutMs }),
    ),
  };
}
