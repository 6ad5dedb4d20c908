/**
 * Runtime configuration shared by the Electron main process, the local agent and `npm start`,
 * read from the environment in one place so every entry point agrees.
 *
 * - EMDAD_SERVER_URL      sync server base URL (default http://127.0.0.1:8787)
 * - EMDAD_AGENT_PORT      local agent port (default 0: any free port)
 * - EMDAD_AGENT_ORIGINS   extra origins allowed to use the agent, comma-separated (e.g. a Vite dev server)
 * - EMDAD_RENDERER_URL    Electron dev: load the renderer from this URL instead of renderer/dist
 */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:8787';
export const DEVICE_SERVICE_NAME = 'Emdad Field device service 0.1.0';

export interface Environment {
  [name: string]: string | undefined;
}

/** A usable http(s) base URL without a trailing slash, or the default. */
export function serverUrlFrom(env: Environment): string {
  const raw = env.EMDAD_SERVER_URL?.trim();
  if (!raw) return DEFAULT_SERVER_URL;
  const url = new URL(raw); // throws on garbage: better to stop at start than to run misconfigured
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`EMDAD_SERVER_URL must be an http(s) URL, got ${raw}`);
  }
  return url.href.replace(/\/+$/, '');
}

export function agentPortFrom(env: Environment): number {
  const raw = env.EMDAD_AGENT_PORT?.trim();
  if (!raw) return 0;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`EMDAD_AGENT_PORT must be a port number (0-65535), got ${raw}`);
  }
  return port;
}

/**
 * Origins allowed to open the agent's WebSocket: the page served by the sync server (under both
 * loopback spellings, since a technician may type either) plus any configured extras.
 */
export function agentAllowedOrigins(serverUrl: string, extra: string | undefined): string[] {
  const origins = new Set<string>();
  const server = new URL(serverUrl);
  origins.add(server.origin);
  if (server.hostname === '127.0.0.1' || server.hostname === 'localhost') {
    const twin = new URL(server.origin);
    twin.hostname = server.hostname === '127.0.0.1' ? 'localhost' : '127.0.0.1';
    origins.add(twin.origin);
  }
  for (const item of (extra ?? '').split(',')) {
    const trimmed = item.trim();
    if (!trimmed) continue;
    origins.add(new URL(trimmed).origin);
  }
  return [...origins];
}
