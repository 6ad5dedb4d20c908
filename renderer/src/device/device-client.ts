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
import type {
  AgentServerMessage,
  Bilingual,
  DeviceApiError,
  DeviceBridge,
  DeviceChannel,
  DeviceEvent,
  DeviceRequest,
  DeviceResult,
  EmdadRuntimeConfig,
} from '@emdad/domain';

export const AGENT_SESSION_KEY = 'emdad.agent';
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Connection attempts in a row that close without ever opening before the client stops retrying.
 * A browser cannot see the agent's HTTP 401 at the upgrade (nor tell it from a closed port): both
 * are a close without open. The agent listens on loopback only and makes a new token at every
 * start, so once attempts keep failing this page's token is dead (agent restarted or stopped) and
 * retrying for ever would only hide that from the user.
 */
export const MAX_ATTEMPTS_WITHOUT_OPEN = 3;
const FIRST_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 15_000;

/** The sentences of the client's own errors (the agent's errors carry their own). */
export const AGENT_SENTENCES = {
  refused: {
    en: 'The device service does not accept this page any more: it was probably restarted and has a new key. Open again the address that `npm start` printed (the link with agentToken), then try again.',
    fa: 'سرویس دستگاه دیگر این صفحه را نمی‌پذیرد؛ احتمالاً دوباره راه‌اندازی شده و کلید تازه‌ای دارد. نشانی‌ای را که `npm start` چاپ کرد (پیوند دارای agentToken) دوباره باز کنید و سپس دوباره تلاش کنید.',
  },
  notConnected: {
    en: 'The device service is not connected. Wait a moment for it to reconnect; if it does not, open again the address that `npm start` printed.',
    fa: 'سرویس دستگاه متصل نیست. چند لحظه صبر کنید تا دوباره وصل شود؛ اگر نشد، نشانی‌ای را که `npm start` چاپ کرد دوباره باز کنید.',
  },
  timeout: {
    en: 'The device service did not answer in time. Check that the device agent is still running, then try again.',
    fa: 'سرویس دستگاه به‌موقع پاسخ نداد. مطمئن شوید عامل دستگاه هنوز در حال اجراست و دوباره تلاش کنید.',
  },
  connectionLost: {
    en: 'The connection to the device service was lost before it answered. Wait for it to reconnect, then try again.',
    fa: 'اتصال به سرویس دستگاه پیش از پاسخ قطع شد. صبر کنید تا دوباره وصل شود و دوباره تلاش کنید.',
  },
} as const satisfies Record<string, Bilingual>;

function clientError(kind: keyof typeof AGENT_SENTENCES, message: string): DeviceApiError {
  return { code: 'service_unavailable', message, sentence: AGENT_SENTENCES[kind] };
}

export interface RetryState {
  /** Attempts in a row that closed without ever opening. */
  attemptsWithoutOpen: number;
  /** The wait before the next attempt. */
  delayMs: number;
}
export const INITIAL_RETRY: RetryState = { attemptsWithoutOpen: 0, delayMs: FIRST_RETRY_DELAY_MS };

/**
 * What to do after a socket closed (`opened`: whether it ever opened): retry after a doubling
 * delay, or give up (`retryInMs: null`) after MAX_ATTEMPTS_WITHOUT_OPEN attempts that never opened.
 */
export function afterClose(
  state: RetryState,
  opened: boolean,
): { state: RetryState; retryInMs: number | null } {
  const base = opened ? INITIAL_RETRY : state;
  const attemptsWithoutOpen = opened ? 0 : state.attemptsWithoutOpen + 1;
  if (attemptsWithoutOpen >= MAX_ATTEMPTS_WITHOUT_OPEN)
    return { state: { attemptsWithoutOpen, delayMs: base.delayMs }, retryInMs: null };
  return {
    state: { attemptsWithoutOpen, delayMs: Math.min(base.delayMs * 2, MAX_RETRY_DELAY_MS) },
    retryInMs: base.delayMs,
  };
}

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

/** `closed`: lost, a retry is scheduled; `refused`: retries stopped (see MAX_ATTEMPTS_WITHOUT_OPEN). */
export type ConnectionState = 'connecting' | 'open' | 'closed' | 'refused';

export interface WebSocketDeviceClient extends DeviceBridge {
  readonly state: ConnectionState;
  /** Why the client stopped retrying (state `refused`), as a device API error with its sentence. */
  readonly stoppedBecause: DeviceApiError | null;
  onState(listener: (state: ConnectionState) => void): () => void;
  /** After `refused`: tries again from scratch (e.g. the agent is back with the same token). */
  retry(): void;
  close(): void;
}

/** A DeviceBridge over the agent's WebSocket, reconnecting with backoff while the page lives. */
export function connectWebSocketDevice(
  config: AgentConfig,
  WebSocketImpl: typeof WebSocket = WebSocket,
): WebSocketDeviceClient {
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let closedByUs = false;
  let retry: RetryState = INITIAL_RETRY;
  let stoppedBecause: DeviceApiError | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Map<
    number,
    { resolve: (r: DeviceResult<DeviceChannel>) => void; timer: ReturnType<typeof setTimeout> }
  >();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  const eventListeners = new Set<(e: DeviceEvent) => void>();

  const setState = (s: ConnectionState) => {
    state = s;
    for (const l of stateListeners) l(s);
  };
  const failAll = (error: DeviceApiError) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, error });
      pending.delete(id);
    }
  };

  function open() {
    const url = new URL(config.url);
    url.searchParams.set('token', config.token);
    setState('connecting');
    const ws = new WebSocketImpl(url.toString());
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
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
      if (socket === ws) socket = null;
      failAll(clientError('connectionLost', 'device service connection closed'));
      if (closedByUs) {
        setState('closed');
        return;
      }
      const next = afterClose(retry, opened);
      retry = next.state;
      if (next.retryInMs === null) {
        stoppedBecause = clientError(
          'refused',
          `device service refused or unreachable after ${retry.attemptsWithoutOpen} attempts`,
        );
        setState('refused');
        return;
      }
      setState('closed');
      retryTimer = setTimeout(open, next.retryInMs);
    };
  }
  open();

  return {
    get state() {
      return state;
    },
    get stoppedBecause() {
      return stoppedBecause;
    },
    retry() {
      if (closedByUs || state !== 'refused') return;
      retry = INITIAL_RETRY;
      stoppedBecause = null;
      open();
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
          resolve({
            ok: false,
            error: stoppedBecause ?? clientError('notConnected', 'device service not connected'),
          });
          return;
        }
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve({ ok: false, error: clientError('timeout', 'device service did not answer in time') });
        }, REQUEST_TIMEOUT_MS);
        pending.set(id, { resolve: resolve as (r: DeviceResult<DeviceChannel>) => void, timer });
        socket.send(JSON.stringify({ id, channel, payload: request }));
      });
    },
    close() {
      closedByUs = true;
      clearTimeout(retryTimer);
      socket?.close();
      failAll(clientError('connectionLost', 'closed'));
    },
  };
}

export type DeviceConnection =
  { kind: 'ipc'; api: DeviceBridge } | { kind: 'websocket'; api: WebSocketDeviceClient } | { kind: 'none' };

export function resolveDeviceConnection(): DeviceConnection {
  if (window.emdadDevice) return { kind: 'ipc', api: window.emdadDevice };
  const agent = captureAgentConfig();
  if (agent) return { kind: 'websocket', api: connectWebSocketDevice(agent) };
  return { kind: 'none' };
}
