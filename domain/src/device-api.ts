/**
 * The device service API, identical over Electron IPC (preload) and over the browser-mode local
 * WebSocket agent. Channels are constants; every request payload is validated with zod on arrival;
 * every answer is `{ ok, value | error }`.
 */
import { z } from 'zod';
import type { Result } from './errors.ts';

export const DEVICE_API_VERSION = 1;

export const DEVICE_CHANNELS = {
  version: 'device:version',
  ping: 'device:ping',
} as const;
export type DeviceChannel = (typeof DEVICE_CHANNELS)[keyof typeof DEVICE_CHANNELS];

export const deviceRequestSchemas = {
  [DEVICE_CHANNELS.version]: z.object({}).strict(),
  [DEVICE_CHANNELS.ping]: z.object({ nonce: z.string().max(64) }).strict(),
} as const;

export interface DeviceResponses {
  [DEVICE_CHANNELS.version]: { apiVersion: number; service: string; transport: 'ipc' | 'websocket' };
  [DEVICE_CHANNELS.ping]: { nonce: string; at: string };
}

export type DeviceRequest<C extends DeviceChannel> = z.infer<(typeof deviceRequestSchemas)[C]>;
export type DeviceResult<C extends DeviceChannel> = Result<DeviceResponses[C]>;

/** The one object the renderer sees, whether from the preload or the WebSocket client. */
export interface DeviceApi {
  invoke<C extends DeviceChannel>(channel: C, request: DeviceRequest<C>): Promise<DeviceResult<C>>;
}

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
  result: Result<unknown>;
}

/**
 * Something the device service pushes without being asked (diagnostic progress, a device lost).
 * Over IPC it arrives on `DEVICE_EVENT_CHANNEL` (preload `onEvent(listener)`); over the agent's
 * WebSocket as an `AgentEventMessage`.
 */
export interface DeviceEvent {
  kind: string;
  /** ISO time the service emitted it. */
  at: string;
  data: unknown;
}
export const DEVICE_EVENT_CHANNEL = 'device:event';
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
