import { describe, expect, it } from 'vitest';
import { agentAllowedOrigins, agentPortFrom, DEFAULT_SERVER_URL, serverUrlFrom } from './config.ts';

describe('runtime configuration', () => {
  it('defaults the server URL and strips a trailing slash', () => {
    expect(serverUrlFrom({})).toBe(DEFAULT_SERVER_URL);
    expect(serverUrlFrom({ EMDAD_SERVER_URL: 'http://10.0.0.5:9000/' })).toBe('http://10.0.0.5:9000');
  });

  it('refuses a server URL that is not http(s)', () => {
    expect(() => serverUrlFrom({ EMDAD_SERVER_URL: 'ftp://x' })).toThrow(/http/);
    expect(() => serverUrlFrom({ EMDAD_SERVER_URL: 'nonsense' })).toThrow();
  });

  it('reads the agent port or picks any free one', () => {
    expect(agentPortFrom({})).toBe(0);
    expect(agentPortFrom({ EMDAD_AGENT_PORT: '4711' })).toBe(4711);
    expect(() => agentPortFrom({ EMDAD_AGENT_PORT: '70000' })).toThrow();
    expect(() => agentPortFrom({ EMDAD_AGENT_PORT: 'abc' })).toThrow();
  });

  it('allows both loopback spellings of the server origin plus configured extras', () => {
    expect(agentAllowedOrigins('http://127.0.0.1:8787', 'http://localhost:5173/, ')).toEqual([
      'http://127.0.0.1:8787',
      'http://localhost:8787',
      'http://localhost:5173',
    ]);
    expect(agentAllowedOrigins('https://sync.example.ir', undefined)).toEqual(['https://sync.example.ir']);
  });
});
