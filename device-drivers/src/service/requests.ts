/**
 * Request payloads of the device service as zod schemas, and a handler map that validates them and
 * answers `{ ok, value | error }` — what the Electron IPC handlers and the local agent wrap. The
 * channel names themselves live in `domain/src/device-api.ts` (owned by the electron layer).
 */
import { z } from 'zod';
import type { DeviceIdentity, DiagnosticRunResult } from '@emdad/domain';
import type { DeviceListing, DeviceService, RunInfo, SessionInfo } from './device-service.ts';
import { DeviceServiceError, toServiceErrorPayload, type DeviceServiceErrorPayload } from './errors.ts';

const path = z.string().min(1).max(512);
const id = z.string().min(1).max(64);

export const deviceServiceRequestSchemas = {
  listDevices: z.object({}).strict(),
  addPath: z.object({ path }).strict(),
  removePath: z.object({ path }).strict(),
  listSessions: z.object({}).strict(),
  connect: z
    .object({
      path,
      protocol: z.enum(['auto', 'abecs', 'stx', 'hid']).optional(),
      probe: z.boolean().optional(),
      line: z
        .object({
          baudRate: z.number().int().min(300).max(921_600).optional(),
          dataBits: z.union([z.literal(7), z.literal(8)]).optional(),
          parity: z.enum(['none', 'even', 'odd']).optional(),
          stopBits: z.union([z.literal(1), z.literal(2)]).optional(),
          flowControl: z.enum(['none', 'rtscts', 'xonxoff']).optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  identify: z.object({ sessionId: id }).strict(),
  runSuite: z.object({ sessionId: id, language: z.enum(['en', 'fa']).optional() }).strict(),
  getRun: z.object({ runId: id }).strict(),
  cancel: z.object({ runId: id }).strict(),
  disconnect: z.object({ sessionId: id }).strict(),
  /** After `session_lost`: wait (up to timeoutMs, default 60 s) for the device and open a new session. */
  reconnect: z.object({ sessionId: id, timeoutMs: z.number().int().min(0).max(300_000).optional() }).strict(),
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
