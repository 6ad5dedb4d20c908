import { describe, expect, it } from 'vitest';
import { buildContentSecurityPolicy, parseContentSecurityPolicy, serverOrigins } from './csp.ts';

describe('content security policy', () => {
  const policy = parseContentSecurityPolicy(
    buildContentSecurityPolicy({ serverUrl: 'http://127.0.0.1:8787/api/' }),
  );

  it('allows scripts only from the app and never eval or inline', () => {
    expect(policy.get('default-src')).toEqual(["'self'"]);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    const all = [...policy.values()].flat();
    expect(all).not.toContain("'unsafe-eval'");
    expect(policy.get('script-src')).not.toContain("'unsafe-inline'");
  });

  it('connects only to itself, the sync server origin (http and ws) and the loopback agent', () => {
    expect(policy.get('connect-src')).toEqual([
      "'self'",
      'http://127.0.0.1:8787',
      'ws://127.0.0.1:8787',
      'ws://127.0.0.1:*',
    ]);
  });

  it('forbids plugins, framing and base rewriting', () => {
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('frame-ancestors')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
  });

  it('uses wss for an https server and drops paths and credentials', () => {
    expect(serverOrigins('https://user:pw@sync.example.ir:8443/x?y=1')).toEqual([
      'https://sync.example.ir:8443',
      'wss://sync.example.ir:8443',
    ]);
  });

  it('ignores a server URL that is not http(s) or not a URL', () => {
    for (const bad of ['javascript:alert(1)', 'file:///etc/passwd', 'not a url', '', null, undefined]) {
      const parsed = parseContentSecurityPolicy(buildContentSecurityPolicy({ serverUrl: bad }));
      expect(parsed.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:*']);
    }
  });

  it('can leave the local agent out', () => {
    const parsed = parseContentSecurityPolicy(buildContentSecurityPolicy({ allowLocalAgent: false }));
    expect(parsed.get('connect-src')).toEqual(["'self'"]);
  });

  it('cannot be broken by a server URL carrying CSP syntax', () => {
    const raw = buildContentSecurityPolicy({ serverUrl: "http://a.example/; script-src 'unsafe-eval'" });
    expect(parseContentSecurityPolicy(raw).get('script-src')).toEqual(["'self'"]);
    expect(raw).not.toContain('unsafe-eval');
  });

  it('opens up only for a configured Vite dev server, and only to that origin', () => {
    const parsed = parseContentSecurityPolicy(
      buildContentSecurityPolicy({
        serverUrl: 'http://127.0.0.1:8787',
        devServerUrl: 'http://localhost:5173/',
      }),
    );
    expect(parsed.get('script-src')).toEqual(["'self'", 'http://localhost:5173', "'unsafe-inline'"]);
    expect(parsed.get('connect-src')).toEqual(
      expect.arrayContaining(['http://localhost:5173', 'ws://localhost:5173', 'http://127.0.0.1:8787']),
    );
    expect(parsed.get('script-src')).not.toContain("'unsafe-eval'");
  });
});
