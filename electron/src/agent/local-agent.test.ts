import { networkInterfaces } from 'node:os';
import { connect as tcpConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DEVICE_CHANNELS, type AgentServerMessage, type DeviceEvent } from '@emdad/domain';
import { createDeviceHandlerMap } from '../handlers.ts';
import { NO_REQUEST_ID, startLocalAgent, tokensEqual, type LocalAgent } from './local-agent.ts';

const APP_ORIGIN = 'http://127.0.0.1:8787';
let agent: LocalAgent;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  const handlers = createDeviceHandlerMap({
    backend: { serviceName: 'agent test', now: () => new Date('2026-11-23T10:00:00.000Z') },
    transport: 'websocket',
  });
  agent = await startLocalAgent({
    handlers,
    allowedOrigins: [APP_ORIGIN, 'http://localhost:8787/'],
    maxMessageBytes: 4096,
  });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await agent.close();
});

interface Attempt {
  origin?: string | undefined;
  token?: string | undefined;
  host?: string;
  path?: string;
}

function open(attempt: Attempt = {}): WebSocket {
  const token = 'token' in attempt ? attempt.token : agent.token;
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  const headers: Record<string, string> = {};
  if (attempt.host) headers.host = attempt.host;
  const origin = 'origin' in attempt ? attempt.origin : APP_ORIGIN;
  const ws = new WebSocket(`${agent.url}${attempt.path ?? '/'}${query}`, {
    headers,
    ...(origin ? { origin } : {}),
  });
  sockets.push(ws);
  return ws;
}

/** Resolves with 'open' or the HTTP status the upgrade was refused with. */
function outcome(ws: WebSocket): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve('open'));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

async function connected(): Promise<WebSocket> {
  const ws = open();
  expect(await outcome(ws)).toBe('open');
  return ws;
}

function nextMessage(ws: WebSocket): Promise<AgentServerMessage> {
  return new Promise((resolve) =>
    ws.once('message', (data) => resolve(JSON.parse(data.toString()) as AgentServerMessage)),
  );
}

async function request(ws: WebSocket, message: unknown): Promise<AgentServerMessage> {
  const reply = nextMessage(ws);
  ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  return reply;
}

describe('local device agent', () => {
  it('listens on 127.0.0.1 with a fresh 32-byte base64url token', async () => {
    expect(agent.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(agent.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const handlers = createDeviceHandlerMap({
      backend: { serviceName: 'x', now: () => new Date() },
      transport: 'websocket',
    });
    const other = await startLocalAgent({ handlers, allowedOrigins: [APP_ORIGIN] });
    try {
      expect(other.token).not.toBe(agent.token);
    } finally {
      await other.close();
    }
  });

  it('is not reachable on any other interface', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal)
      .map((i) => i!.address);
    for (const address of ['::1', ...others]) {
      const reached = await new Promise<boolean>((resolve) => {
        const socket = tcpConnect({ host: address, port: agent.port, timeout: 5000 });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
      });
      expect(reached, `reachable on ${address}`).toBe(false);
    }
  });

  it('answers a ping round trip and version over the socket', async () => {
    const ws = await connected();
    expect(await request(ws, { id: 1, channel: DEVICE_CHANNELS.ping, payload: { nonce: 'n-1' } })).toEqual({
      id: 1,
      result: { ok: true, value: { nonce: 'n-1', at: '2026-11-23T10:00:00.000Z' } },
    });
    expect(await request(ws, { id: 2, channel: DEVICE_CHANNELS.version, payload: {} })).toMatchObject({
      id: 2,
      result: { ok: true, value: { service: 'agent test', transport: 'websocket' } },
    });
  });

  it('accepts the localhost spelling of an allowed origin', async () => {
    expect(await outcome(open({ origin: 'http://localhost:8787', host: `localhost:${agent.port}` }))).toBe(
      'open',
    );
  });

  it.each([
    ['a wrong token', { token: 'A'.repeat(43) }],
    ['no token', { token: undefined }],
    ['an empty token', { token: '' }],
  ])('refuses %s with 401', async (_label, attempt) => {
    expect(await outcome(open(attempt))).toBe(401);
    expect(agent.connectionCount).toBe(0);
  });

  it('refuses the right token with a truncated or extended value', async () => {
    expect(await outcome(open({ token: agent.token.slice(0, -1) }))).toBe(401);
    expect(await outcome(open({ token: `${agent.token}x` }))).toBe(401);
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['the right host on another port', 'http://127.0.0.1:9999'],
    ['https instead of http', 'https://127.0.0.1:8787'],
    ['an opaque origin', 'null'],
    ['no origin at all', undefined],
  ])('refuses %s with 403 even with the right token', async (_label, origin) => {
    expect(await outcome(open({ origin }))).toBe(403);
  });

  it('refuses a DNS-rebound Host header with 403', async () => {
    expect(await outcome(open({ host: `attacker.example:${agent.port}` }))).toBe(403);
  });

  it('refuses other paths with 404', async () => {
    expect(await outcome(open({ path: '/admin' }))).toBe(404);
  });

  it('answers bad JSON with an error and keeps serving', async () => {
    const ws = await connected();
    expect(await request(ws, '{not json')).toMatchObject({
      id: NO_REQUEST_ID,
      result: { ok: false, error: { code: 'bad_request' } },
    });
    expect(await request(ws, { id: 7, chanel: 'typo' })).toMatchObject({
      id: 7,
      result: { ok: false, error: { code: 'bad_request' } },
    });
    expect(await request(ws, 'null')).toMatchObject({ id: NO_REQUEST_ID, result: { ok: false } });
    expect(await request(ws, { id: 8, channel: 'device:rm-rf', payload: {} })).toMatchObject({
      id: 8,
      result: { ok: false, error: { code: 'bad_request' } },
    });
    expect(await request(ws, { id: 9, channel: DEVICE_CHANNELS.ping, payload: { nonce: 5 } })).toMatchObject({
      id: 9,
      result: { ok: false, error: { code: 'bad_request' } },
    });
    expect(
      await request(ws, { id: 10, channel: DEVICE_CHANNELS.ping, payload: { nonce: 'still here' } }),
    ).toMatchObject({ id: 10, result: { ok: true } });
  });

  it('refuses binary frames with an error answer', async () => {
    const ws = await connected();
    const reply = nextMessage(ws);
    ws.send(Buffer.from([1, 2, 3]));
    expect(await reply).toMatchObject({
      id: NO_REQUEST_ID,
      result: { ok: false, error: { code: 'bad_request' } },
    });
  });

  it('closes a connection that sends a message over the size limit', async () => {
    const ws = await connected();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ id: 1, channel: DEVICE_CHANNELS.ping, payload: { nonce: 'x'.repeat(10_000) } }));
    expect(await closed).toBe(1009);
  });

  it('pushes events to every connected client', async () => {
    const a = await connected();
    const b = await connected();
    const event: DeviceEvent = {
      kind: 'session_closed',
      at: '2026-11-23T10:00:00.000Z',
      data: { sessionId: 's-1', path: '/dev/ttyUSB0' },
    };
    const got = Promise.all([nextMessage(a), nextMessage(b)]);
    agent.broadcast(event);
    expect(await got).toEqual([
      { type: 'event', event },
      { type: 'event', event },
    ]);
  });

  it('answers plain HTTP with 426 and no device access', async () => {
    const response = await fetch(`http://127.0.0.1:${agent.port}/?token=${agent.token}`);
    expect(response.status).toBe(426);
  });
});

describe('tokensEqual', () => {
  it('compares exactly', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abd', 'abc')).toBe(false);
    expect(tokensEqual('', 'abc')).toBe(false);
    expect(tokensEqual(null, 'abc')).toBe(false);
  });
});
