/**
 * The Content-Security-Policy of the field app's window. Pure, so it is tested without Electron.
 *
 * Why each directive (Electron security checklist, "Define a Content Security Policy"):
 * - scripts only from the app itself and never `eval` (no 'unsafe-eval', no 'unsafe-inline'), so an
 *   injected string in a case description cannot become code;
 * - `connect-src` limited to the app, the configured sync server and the local device agent on the
 *   loopback interface, so a compromised page cannot exfiltrate data to another host;
 * - no plugins, no framing, no `<base>` rewriting.
 * Styles allow 'unsafe-inline' because React sets `style` attributes; that cannot run code.
 */

export interface CspOptions {
  /** The sync server the renderer talks to, e.g. http://127.0.0.1:8787 (only its origin is used). */
  serverUrl?: string | null;
  /** Allow the browser-mode local device agent (ws://127.0.0.1:any-port). Default true. */
  allowLocalAgent?: boolean;
  /**
   * Development only (EMDAD_RENDERER_URL): the Vite dev server. Its origin joins script-src and
   * connect-src (modules and hot reload), and script-src gains 'unsafe-inline' for the React
   * refresh preamble Vite injects inline. Never set for the built app.
   */
  devServerUrl?: string | null;
}

/** The origin of an http(s) URL, plus its ws(s) twin for live updates; [] when the URL is unusable. */
export function serverOrigins(serverUrl: string | null | undefined): string[] {
  if (!serverUrl) return [];
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    return [];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [];
  const wsProtocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return [url.origin, `${wsProtocol}//${url.host}`];
}

export function buildContentSecurityPolicy(options: CspOptions = {}): string {
  const dev = serverOrigins(options.devServerUrl);
  const connect = ["'self'", ...serverOrigins(options.serverUrl), ...dev];
  if (options.allowLocalAgent ?? true) connect.push('ws://127.0.0.1:*');
  const script = dev.length > 0 ? ["'self'", dev[0]!, "'unsafe-inline'"] : ["'self'"];
  const directives: [string, string[]][] = [
    ['default-src', ["'self'"]],
    ['script-src', script],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'blob:']],
    ['font-src', ["'self'", 'data:']],
    ['connect-src', [...new Set(connect)]],
    ['worker-src', ["'self'", 'blob:']],
    ['object-src', ["'none'"]],
    ['frame-src', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
  ];
  return directives.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

/** Parses a CSP string into directive → sources; used by tests and by the e2e check. */
export function parseContentSecurityPolicy(policy: string): Map<string, string[]> {
  const parsed = new Map<string, string[]>();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) parsed.set(name.toLowerCase(), sources);
  }
  return parsed;
}
