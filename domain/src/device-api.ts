/**
 * The device service API, identical over Electron IPC (preload) and over the browser-mode local
 * WebSocket agent. Channels are constants; every request payload is validated with zod on arrival;
 * every answer is `{ ok, value | error }`.
 *
 * The device-service channels mirror `device-drivers/src/service/requests.ts` (domain imports
 * nothing of ours, so the wire types are restated here; the electron layer checks at compile time
 * that the service's values are assignable to them).
 */
import { z } from 'zod';
import type {
  DeviceFamily,
  DeviceIdentity,
  DiagnosticErrorCode,
  DiagnosticRunResult,
  DiagnosticStepResult,
} from './diagnostics.ts';
import { ERROR_SENTENCES, type ErrorCode, type Language, type Result } from './errors.ts';

/** 3: adds `device:reconnect`. */
export const DEVICE_API_VERSION = 3;

export const DEVICE_CHANNELS = {
  version: 'device:version',
  ping: 'device:ping',
  /** Serial ports and HID devices the OS lists, plus paths added by hand. */
  listDevices: 'device:list-devices',
  /** Adds a path the OS listing never shows (ptys, some adapters). */
  addPath: 'device:add-path',
  removePath: 'device:remove-path',
  listSessions: 'device:list-sessions',
  /** Opens a session on a port: auto-detects the protocol unless one is given. */
  connect: 'device:connect',
  identify: 'device:identify',
  /** Starts the family's full suite; progress arrives as `diagnostic_progress` events. */
  runSuite: 'device:run-suite',
  getRun: 'device:get-run',
  /** Cancels a run and answers with its (partial) result once it has stopped. */
  cancel: 'device:cancel',
  disconnect: 'device:disconnect',
  /**
   * After `session_lost`: waits (up to `timeoutMs`, default 60 s) for the device to be back on the
   * same port, detects its protocol again and answers with the new session (the lost one is closed).
   */
  reconnect: 'device:reconnect',
} as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[keyof typeof DEVICE_CHANNELS];

/** A device path: any OS spelling (/dev/ttyUSB0, COM3, \\?\hid#…), never a NUL or a `..` segment. */
const devicePathSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.includes('\0') && !/(^|[\\/])\.\.([\\/]|$)/.test(p), 'not a device path');
const serviceIdSchema = z.string().min(1).max(64);

export const deviceRequestSchemas = {
  [DEVICE_CHANNELS.version]: z.object({}).strict(),
  [DEVICE_CHANNELS.ping]: z.object({ nonce: z.string().max(64) }).strict(),
  [DEVICE_CHANNELS.listDevices]: z.object({}).strict(),
  [DEVICE_CHANNELS.addPath]: z.object({ path: devicePathSchema }).strict(),
  [DEVICE_CHANNELS.removePath]: z.object({ path: devicePathSchema }).strict(),
  [DEVICE_CHANNELS.listSessions]: z.object({}).strict(),
  [DEVICE_CHANNELS.connect]: z
    .object({
      path: devicePathSchema,
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
  [DEVICE_CHANNELS.identify]: z.object({ sessionId: serviceIdSchema }).strict(),
  [DEVICE_CHANNELS.runSuite]: z
    .object({ sessionId: serviceIdSchema, language: z.enum(['en', 'fa']).optional() })
    .strict(),
  [DEVICE_CHANNELS.getRun]: z.object({ runId: serviceIdSchema }).strict(),
  [DEVICE_CHANNELS.cancel]: z.object({ runId: serviceIdSchema }).strict(),
  [DEVICE_CHANNELS.disconnect]: z.object({ sessionId: serviceIdSchema }).strict(),
  [DEVICE_CHANNELS.reconnect]: z
    .object({ sessionId: serviceIdSchema, timeoutMs: z.number().int().min(0).max(300_000).optional() })
    .strict(),
} as const;

// ---- wire types of the device service's answers ------------------------------------------------

export type DeviceProtocol = 'abecs' | 'stx' | 'hid';
export interface Bilingual {
  en: string;
  fa: string;
}

export interface SerialLineSettingsWire {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  flowControl: 'none' | 'rtscts' | 'xonxoff';
}

export interface DeviceListing {
  path: string;
  kind: 'serial' | 'hid';
  /** 'discovered' by the OS listing, or 'added' by hand. */
  source: 'discovered' | 'added';
  vendorId: string | null;
  productId: string | null;
  serialNumber: string | null;
  manufacturer: string | null;
  product: string | null;
  /** A short label from the USB vendor id (e.g. "Ingenico", "FTDI USB-serial adapter"), if known. */
  label: string | null;
  /** The session holding this port, if any. */
  sessionId: string | null;
}

export interface AutoDetectAttemptWire {
  protocol: DeviceProtocol;
  /** Driver variant when a protocol is tried more than once (e.g. 7E1 parity done in software). */
  variant: string | null;
  settings: SerialLineSettingsWire;
  outcome: 'recognised' | 'no_answer' | 'port_error';
  message: string | null;
  durationMs: number;
}

export interface DeviceSessionInfo {
  sessionId: string;
  path: string;
  protocol: DeviceProtocol;
  family: DeviceFamily;
  /** Null for HID. */
  line: SerialLineSettingsWire | null;
  /** Driver variant auto-detect settled on, if any. */
  variant: string | null;
  state: 'connected' | 'busy' | 'lost';
  connectedAt: string;
  identity: DeviceIdentity | null;
  detection: AutoDetectAttemptWire[];
  runId: string | null;
}

export interface DiagnosticRunInfo {
  runId: string;
  sessionId: string;
  suite: string;
  state: 'running' | 'finished';
  startedAt: string;
  result: DiagnosticRunResult | null;
}

export type DiagnosticProgress =
  | {
      type: 'run_started';
      suite: string;
      family: DeviceFamily;
      port: string;
      steps: { id: string; title: Bilingual; interactive: boolean }[];
      at: string;
    }
  | { type: 'step_started'; stepId: string; index: number; total: number; title: Bilingual; at: string }
  | { type: 'prompt'; stepId: string; message: Bilingual; at: string }
  | { type: 'step_finished'; stepId: string; index: number; total: number; result: DiagnosticStepResult }
  | { type: 'run_finished'; result: DiagnosticRunResult };

export interface DeviceResponses {
  [DEVICE_CHANNELS.version]: { apiVersion: number; service: string; transport: 'ipc' | 'websocket' };
  [DEVICE_CHANNELS.ping]: { nonce: string; at: string };
  [DEVICE_CHANNELS.listDevices]: DeviceListing[];
  [DEVICE_CHANNELS.addPath]: null;
  [DEVICE_CHANNELS.removePath]: null;
  [DEVICE_CHANNELS.listSessions]: DeviceSessionInfo[];
  [DEVICE_CHANNELS.connect]: DeviceSessionInfo;
  [DEVICE_CHANNELS.identify]: DeviceIdentity;
  [DEVICE_CHANNELS.runSuite]: { runId: string };
  [DEVICE_CHANNELS.getRun]: DiagnosticRunInfo;
  [DEVICE_CHANNELS.cancel]: DiagnosticRunResult;
  [DEVICE_CHANNELS.disconnect]: null;
  [DEVICE_CHANNELS.reconnect]: DeviceSessionInfo;
}

// ---- errors --------------------------------------------------------------------------------------

/** Errors only the device service raises (in addition to the shared `ErrorCode`s). */
export const DEVICE_SERVICE_ERROR_CODES = [
  'port_busy',
  'port_in_session',
  'permission_denied',
  'not_found',
  'unplugged',
  'io_error',
  'protocol_not_recognised',
  'session_not_found',
  'session_busy',
  /** `reconnect` on a session that is not lost. */
  'still_connected',
  'run_not_found',
  'identify_failed',
  'bad_request',
  'internal',
  'service_unavailable',
] as const;
export type DeviceServiceErrorCode = (typeof DEVICE_SERVICE_ERROR_CODES)[number];

/**
 * A device API error. Device-service errors carry their own sentence (Persian and English, saying
 * what to do next) and, where one applies, the stable diagnostic code knowledge articles key on.
 */
export interface DeviceApiError {
  code: ErrorCode | DeviceServiceErrorCode;
  /** English, for logs. */
  message: string;
  sentence?: Bilingual;
  diagnosticCode?: DiagnosticErrorCode | null;
}

export const DEVICE_UNAVAILABLE_SENTENCE: Bilingual = {
  en: 'The device service is not running in this app. Restart Emdad Field; if it repeats, tell support.',
  fa: 'سرویس دستگاه در این برنامه در حال اجرا نیست. امداد را دوباره باز کنید؛ اگر تکرار شد به پشتیبانی اطلاع دهید.',
};

/** The sentence to show for a device API error, in the user's language. */
export function deviceErrorSentence(error: DeviceApiError, lang: Language): string {
  if (error.sentence) return error.sentence[lang];
  if (error.code === 'service_unavailable') return DEVICE_UNAVAILABLE_SENTENCE[lang];
  const shared = (ERROR_SENTENCES as Record<string, Bilingual | undefined>)[error.code];
  return (shared ?? ERROR_SENTENCES.internal)[lang];
}

export type DeviceRequest<C extends DeviceChannel> = z.infer<(typeof deviceRequestSchemas)[C]>;
export type DeviceResult<C extends DeviceChannel> = Result<DeviceResponses[C], DeviceApiError>;

/** The one object the renderer sees, whether from the preload or the WebSocket client. */
export interface DeviceApi {
  invoke<C extends DeviceChannel>(channel: C, request: DeviceRequest<C>): Promise<DeviceResult<C>>;
}

// ---- events --------------------------------------------------------------------------------------

/**
 * What the device service pushes without being asked. Over IPC it arrives on
 * `DEVICE_EVENT_CHANNEL` (preload `onEvent(listener)`); over the agent's WebSocket as an
 * `AgentEventMessage`.
 */
export type DeviceEvent =
  | {
      kind: 'diagnostic_progress';
      at: string;
      data: { runId: string; sessionId: string; event: DiagnosticProgress };
    }
  | {
      kind: 'run_finished';
      at: string;
      data: { runId: string; sessionId: string; result: DiagnosticRunResult };
    }
  | { kind: 'session_lost'; at: string; data: { sessionId: string; path: string; error: DeviceApiError } }
  | { kind: 'session_closed'; at: string; data: { sessionId: string; path: string } }
  /** Devices plugged in or pulled out since the service's last look (the app watches all the time). */
  | { kind: 'devices_changed'; at: string; data: { added: DeviceListing[]; removed: DeviceListing[] } };
export const DEVICE_EVENT_CHANNEL = 'device:event';

// ---- the browser-mode agent's WebSocket ----------------------------------------------------------

/** Messages of the browser-mode agent's WebSocket (ws://127.0.0.1:PORT/?token=…). */
export const agentRequestSchema = z.object({
  id: z.number().int().nonnegative(),
  channel: z.string().max(64),
  payload: z.unknown(),
});
export type AgentRequest = z.infer<typeof agentRequestSchema>;
/**
 * The agent's answer to one request. `id` echoes the request's id; it is -1 when the message
 * carried no usable id (not JSON, wrong shape) so the client can log it without matching a request.
 */
export interface AgentResponse {
  id: number;
  result: Result<unknown, DeviceApiError>;
}
export interface AgentEventMessage {
  type: 'event';
  event: DeviceEvent;
}
/** Every message the agent sends: answers carry `id`, pushed events carry `type: 'event'`. */
export type AgentServerMessage = AgentResponse | AgentEventMessage;

/** What the Electron preload exposes as `window.emdadDevice` (the browser client offers the same). */
export interface DeviceBridge extends DeviceApi {
  /** Subscribes to pushed device events; returns the unsubscribe function. */
  onEvent(listener: (event: DeviceEvent) => void): () => void;
}

/** What the Electron preload exposes as `window.emdadConfig`. */
export interface EmdadRuntimeConfig {
  /** The sync server's base URL, e.g. http://127.0.0.1:8787. */
  serverUrl: string;
}
