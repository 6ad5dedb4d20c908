/**
 * The browser-mode local device agent: the same device API as the Electron preload, over a
 * WebSocket on the loopback interface, for when the field app runs in a plain browser.
 *
 * Threat model: any web page the technician opens can try to reach ws://127.0.0.1:PORT, and so can
 * a DNS-rebound hostname. So, before a socket exists (at the HTTP upgrade):
 * - the Host header must be the loopback address we listen on (defeats DNS rebinding),
 * - the Origin must be one of the app's own origins (403 otherwise; a page elsewhere is refused),
 * - the per-start random token must match, compared in constant time (401 otherwise).
 * After the upgrade every message is size-limited, parsed as JSON, validated with
 * `agentRequestSchema`, then the channel payload is validated by the shared handler map.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import {
  agentRequestSchema,
  type AgentEventMessage,
  type AgentResponse,
  type DeviceEvent,
} from '@emdad/domain';
import { dispatchDeviceRequest, type DeviceHandlerMap } from '../handlers.ts';

export const AGENT_HOST = '127.0.0.1';
/** Device API messages are small JSON objects; anything bigger is a mistake or an attack. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;
/** Requests one connection may have in flight before further ones are refused. */
export const MAX_IN_FLIGHT_PER_CONNECTION = 32;
/** `id` used in an answer to a message that carried no usable request id (bad JSON, wrong shape). */
export const NO_REQUEST_ID = -1;

export interface LocalAgentOptions {
  handlers: DeviceHandlerMap;
  /** Exact origins allowed to connect, e.g. ['http://127.0.0.1:8787', 'http://localhost:8787']. */
  allowedOrigins: readonly string[];
  /** 0 (default) picks a free port. */
  port?: number;
  maxMessageBytes?: number;
  log?: (message: string) => void;
}

export interface LocalAgent {
  /** ws://127.0.0.1:PORT (no token). */
  readonly url: string;
  readonly port: number;
  /** 32 random bytes, base64url; new at every start. */
  readonly token: string;
  /** Number of authenticated connections. */
  readonly connectionCount: number;
  /** Pushes a device event (e.g. diagnostic progress) to every connected client. */
  broadcast(event: DeviceEvent): void;
  close(): Promise<void>;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time token comparison: hashing first makes both sides the same length. */
export function tokensEqual(presented: string | null | undefined, expected: string): boolean {
  if (typeof presented !== 'string') return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Normalises an origin list (trailing slashes, case) so comparisons are exact on what matters. */
function normaliseOrigin(origin: string): string | null {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

function refuse(socket: Socket, status: 400 | 401 | 403 | 404, reason: string): void {
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status];
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function send(ws: WebSocket, message: AgentResponse | AgentEventMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

export async function startLocalAgent(options: LocalAgentOptions): Promise<LocalAgent> {
  const log = options.log ?? (() => undefined);
  const allowed = new Set(options.allowedOrigins.map(normaliseOrigin).filter((o): o is string => o !== null));
  const token = randomBytes(32).toString('base64url');
  const maxPayload = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const clients = new Set<WebSocket>();

  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  const server: Server = createServer((_request, response) => {
    // Plain HTTP has nothing to offer; say what this port is for.
    response.writeHead(426, {
      'Content-Type': 'text/plain; charset=utf-8',
      Upgrade: 'websocket',
      Connection: 'close',
    });
    response.end('Emdad Field local device agent: connect with a WebSocket.\n');
  });

  let port = 0;
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const requestUrl = new URL(request.url ?? '/', `http://${AGENT_HOST}`);
    if (requestUrl.pathname !== '/') return refuse(socket, 404, 'Unknown path.');
    const host = request.headers.host ?? '';
    if (host !== `${AGENT_HOST}:${port}` && host !== `localhost:${port}`) {
      log(`refused upgrade: host ${host.slice(0, 80)}`);
      return refuse(socket, 403, 'Wrong Host header.');
    }
    const origin = request.headers.origin ? normaliseOrigin(request.headers.origin) : null;
    if (origin === null || !allowed.has(origin)) {
      log(`refused upgrade: origin ${String(request.headers.origin).slice(0, 80)}`);
      return refuse(socket, 403, 'Origin not allowed.');
    }
    if (!tokensEqual(requestUrl.searchParams.get('token'), token)) {
      log('refused upgrade: bad token');
      return refuse(socket, 401, 'Missing or wrong agent token.');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  wss.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    let inFlight = 0;
    ws.on('close', () => clients.delete(ws));
    ws.on('error', (error) => log(`socket error: ${error.message}`));
    ws.on('message', (data: RawData, isBinary: boolean) => {
      void answer(data, isBinary);
    });

    async function answer(data: RawData, isBinary: boolean): Promise<void> {
      if (isBinary) {
        return send(ws, {
          id: NO_REQUEST_ID,
          result: {
            ok: false,
            error: { code: 'bad_request', message: 'Binary messages are not accepted; send JSON text.' },
          },
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(data.toString());
      } catch {
        return send(ws, {
          id: NO_REQUEST_ID,
          result: { ok: false, error: { code: 'bad_request', message: 'The message is not valid JSON.' } },
        });
      }
      const parsed = agentRequestSchema.safeParse(json);
      if (!parsed.success) {
        const maybeId = (json as { id?: unknown } | null)?.id;
        const id =
          typeof maybeId === 'number' && Number.isSafeInteger(maybeId) && maybeId >= 0
            ? maybeId
            : NO_REQUEST_ID;
        return send(ws, {
          id,
          result: {
            ok: false,
            error: { code: 'bad_request', message: 'The message must be { id, channel, payload }.' },
          },
        });
      }
      const { id, channel, payload } = parsed.data;
      if (inFlight >= MAX_IN_FLIGHT_PER_CONNECTION) {
        return send(ws, {
          id,
          result: {
            ok: false,
            error: { code: 'rate_limited', message: 'Too many requests in flight on this connection.' },
          },
        });
      }
      inFlight += 1;
      try {
        send(ws, { id, result: await dispatchDeviceRequest(options.handlers, channel, payload) });
      } finally {
        inFlight -= 1;
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: AGENT_HOST, port: options.port ?? 0, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `ws://${AGENT_HOST}:${port}`,
    port,
    token,
    get connectionCount() {
      return clients.size;
    },
    broadcast(event) {
      for (const ws of clients) send(ws, { type: 'event', event });
    },
    async close() {
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
