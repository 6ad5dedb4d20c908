/**
 * The agent against a real browser (Debian chromium through playwright-core): the Origin a page
 * really sends decides, and the app's own CSP (csp.ts) lets the page reach the loopback agent.
 * The page logic is a served script (not page.evaluate), so the CSP applies to it as in the app.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContentSecurityPolicy } from '../csp.ts';
import { createDeviceHandlerMap } from '../handlers.ts';
import { startLocalAgent, type LocalAgent } from './local-agent.ts';

const CHROMIUM = '/usr/bin/chromium';

// Reads agent URL and token from the hash, pings, and publishes the outcome in the title.
const PAGE_SCRIPT = `
const params = new URLSearchParams(location.hash.slice(1));
const ws = new WebSocket(params.get('agent') + '/?token=' + encodeURIComponent(params.get('token')));
ws.onmessage = (m) => { document.title = 'answer:' + m.data; ws.close(); };
ws.onopen = () => ws.send(JSON.stringify({ id: 1, channel: 'device:ping', payload: { nonce: 'from-browser' } }));
ws.onclose = (e) => { if (!document.title.startsWith('answer:')) document.title = 'closed:' + e.code; };
`;

function servePage(): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve) => {
    const server = createServer((request, response) => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const headers = { 'Content-Security-Policy': buildContentSecurityPolicy({ serverUrl: origin }) };
      if (request.url === '/app.js') {
        response.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' });
        response.end(PAGE_SCRIPT);
      } else {
        response.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
        response.end('<!doctype html><title>waiting</title><script src="/app.js"></script>');
      }
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
  });
}

describe.skipIf(!existsSync(CHROMIUM))('local agent from a real browser', () => {
  let browser: Browser;
  let agent: LocalAgent;
  let app: { server: Server; origin: string };
  let stranger: { server: Server; origin: string };

  beforeAll(async () => {
    app = await servePage();
    stranger = await servePage();
    const handlers = createDeviceHandlerMap({
      backend: { serviceName: 'browser test', now: () => new Date() },
      transport: 'websocket',
    });
    agent = await startLocalAgent({ handlers, allowedOrigins: [app.origin] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.close();
    app?.server.close();
    stranger?.server.close();
  });

  async function outcome(pageOrigin: string, token: string): Promise<string> {
    const page = await browser.newPage();
    try {
      const hash = new URLSearchParams({ agent: agent.url, token });
      await page.goto(`${pageOrigin}/#${hash}`);
      await page.waitForFunction(() => document.title !== 'waiting', undefined, { timeout: 20_000 });
      return await page.title();
    } finally {
      await page.close();
    }
  }

  it('serves a ping to the app page under the app CSP', async () => {
    const title = await outcome(app.origin, agent.token);
    expect(title.startsWith('answer:')).toBe(true);
    expect(JSON.parse(title.slice('answer:'.length))).toMatchObject({
      id: 1,
      result: { ok: true, value: { nonce: 'from-browser' } },
    });
  }, 30_000);

  it('refuses another origin on the same machine even with the token', async () => {
    expect(await outcome(stranger.origin, agent.token)).toBe('closed:1006');
  }, 30_000);

  it('refuses the app page with a wrong token', async () => {
    expect(await outcome(app.origin, 'wrong')).toBe('closed:1006');
  }, 30_000);
});
