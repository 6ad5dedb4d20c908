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
export interface AgentResponse {
  id: number;
  result: Result<unknown>;
}
