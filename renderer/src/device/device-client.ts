/**
 * The device service as the renderer sees it: `window.emdadDevice` in Electron (the preload), or in
 * a plain browser a client of the local agent's authenticated WebSocket speaking the same typed API
 * (domain/src/device-api.ts).
 *
 * Browser mode configuration: the page is opened with the agent's address and token, in the query
 * string or in the hash's query, e.g.
 *   http://127.0.0.1:8787/?agent=ws://127.0.0.1:47001&agentToken=SECRET#/
 *   http://127.0.0.1:8787/#/?agent=ws://127.0.0.1:47001&agentToken=SECRET
 * They are moved into sessionStorage (this tab only, gone when it closes) and removed from the
 * address bar, so the token is not left in history or bookmarks.
 */
import type { AgentServerMessage, DeviceBridge, DeviceChannel, DeviceEvent, DeviceRequest, DeviceResult, EmdadRuntimeConfig } from '@emdad/domain';

export const AGENT_SESSION_KEY = 'emdad.agent';
const REQUEST_TIMEOUT_MS = 10_000;

export interface AgentConfig {
  url: string;
  token: string;
}

declare global {
  interface Window {
    emdadDevice?: DeviceBridge;
    emdadConfig?: EmdadRuntimeConfig;
  }
}

/** Takes agent settings out of the URL into sessionStorage; returns what is configured. */
export function captureAgentConfig(): AgentConfig | null {
  const search = new URLSearchParams(window.location.search);
  const hash = window.location.hash;
  const hashQueryAt = hash.indexOf('?');
  const hashParams = new URLSearchParams(hashQueryAt >= 0 ? hash.slice(hashQueryAt + 1) : '');
  const url = search.get('agent') ?? hashParams.get('agent');
  const token = search.get('agentToken') ?? hashParams.get('agentToken');
  if (url && token && /^wss?:\/\//.test(url)) {
    sessionStorage.setItem(AGENT_SESSION_KEY, JSON.stringify({ url, token }));
    for (const p of [search, hashParams]) {
      p.delete('agent');
      p.delete('agentToken');
    }
    const hashPath = hashQueryAt >= 0 ? hash.slice(0, hashQueryAt) : hash;
    const cleanHash = hashParams.toString() ? `${hashPath}?${hashParams.toString()}` : hashPath;
    const cleanSearch = search.toString() ? `?${search.toString()}` : '';
    window.history.replaceState(null, '', `${window.location.pathname}${cleanSearch}${cleanHash}`);
  }
  try {
    const stored = JSON.parse(sessionStorage.getItem(AGENT_SESSION_KEY) ?? 'null') as AgentConfig | null;
    return stored && typeof stored.url === 'string' && typeof stored.token === 'string' ? stored : null;
  } catch {
    return null;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WebSocketDeviceClient extends DeviceBridge {
  readonly state: ConnectionState;
  onState(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

/** A DeviceBridge over the agent's WebSocket, reconnecting with backoff while the page lives. */
export function connectWebSocketDevice(config: AgentConfig, WebSocketImpl: typeof WebSocket = WebSocket): WebSocketDeviceClient {
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let closedByUs = false;
  let delay = 500;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Map<number, { resolve: (r: DeviceResult<DeviceChannel>) => void; timer: ReturnType<typeof setTimeout> }>();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  const eventListeners = new Set<(e: DeviceEvent) => void>();

  const setState = (s: ConnectionState) => {
    state = s;
    for (const l of stateListeners) l(s);
  };
  const failAll = (message: string) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error: { code: 'network_unavailable', message } });
      pending.delete(id);
    }
  };

  function open() {
    const url = new URL(config.url);
    url.searchParams.set('token', config.token);
    setState('connecting');
    const ws = new WebSocketImpl(url.toString());
    socket = ws;
    ws.onopen = () => {
      delay = 500;
      setState('open');
    };
    ws.onmessage = (message) => {
      let data: AgentServerMessage;
      try {
        data = JSON.parse(String(message.data)) as AgentServerMessage;
      } catch {
        return;
      }
      if ('type' in data && data.type === 'event') {
        for (const l of eventListeners) l(data.event);
        return;
      }
      if ('id' in data) {
        const p = pending.get(data.id);
        if (!p) return;
        clearTimeout(p.timer);
        pending.delete(data.id);
        p.resolve(data.result as DeviceResult<DeviceChannel>);
      }
    };
    ws.onclose = () => {
      socket = null;
      failAll('device service connection closed');
      setState('closed');
      if (!closedByUs) {
        retryTimer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 15_000);
      }
    };
  }
  open();

  return {
    get state() {
      return state;
    },
    onState(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    invoke<C extends DeviceChannel>(channel: C, request: DeviceRequest<C>): Promise<DeviceResult<C>> {
      return new Promise((resolve) => {
        if (!socket || socket.readyState !== WebSocketImpl.OPEN) {
          resolve({ ok: false, error: { code: 'network_unavailable', message: 'device service not connected' } });
          return;
        }
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve({ ok: false, error: { code: 'network_unavailable', message: 'device service did not answer in time' } });
        }, REQUEST_TIMEOUT_MS);
        pending.set(id, { resolve: resolve as (r: DeviceResult<DeviceChannel>) => void, timer });
        socket.send(JSON.stringify({ id, channel, payload: request }));
      });
    },
    close() {
      closedByUs = true;
      clearTimeout(retryTimer);
      socket?.close();
      failAll('closed');
    },
  };
}

export type DeviceConnection =
  | { kind: 'ipc'; api: DeviceBridge }
  | { kind: 'websocket'; api: WebSocketDeviceClient }
  | { kind: 'none' };

export function resolveDeviceConnection(): DeviceConnection {
  if (window.emdadDevice) return { kind: 'ipc', api: window.emdadDevice };
  const agent = captureAgentConfig();
  if (agent) return { kind: 'websocket', api: connectWebSocketDevice(agent) };
  return { kind: 'none' };
}
