import { describe, expect, it } from 'vitest';
import { APP_ENTRY_URL } from './app-protocol.ts';
import { isAllowedNavigation, isTrustedIpcSender, secureWebPreferences } from './window-policy.ts';

const entry = 'file:///opt/emdad/renderer/dist/index.html';

describe('window security settings', () => {
  it('isolates and sandboxes the renderer with no Node access', () => {
    const prefs = secureWebPreferences('/opt/emdad/electron/dist/preload.cjs', 'http://127.0.0.1:8787');
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/opt/emdad/electron/dist/preload.cjs',
    });
    expect(prefs.additionalArguments).toEqual(['--emdad-server-url=http://127.0.0.1:8787']);
  });
});

describe('navigation policy', () => {
  it('allows hash-route changes within the app document', () => {
    expect(isAllowedNavigation(`${entry}#/cases/new`, entry)).toBe(true);
    expect(isAllowedNavigation('http://localhost:5173/#/login', 'http://localhost:5173/')).toBe(true);
    expect(isAllowedNavigation(`${APP_ENTRY_URL}#/device`, APP_ENTRY_URL)).toBe(true);
  });

  it('refuses other documents of the app:// origin', () => {
    expect(isAllowedNavigation('app://emdad/assets/index.js', APP_ENTRY_URL)).toBe(false);
    expect(isAllowedNavigation('app://other/index.html', APP_ENTRY_URL)).toBe(false);
  });

  it.each([
    'https://evil.example/',
    'file:///etc/passwd',
    'file:///opt/emdad/renderer/dist/other.html',
    `${entry}?inject=1`,
    'javascript:alert(1)',
    'not a url',
    'http://localhost:5174/',
  ])('refuses navigating to %s', (target) => {
    expect(isAllowedNavigation(target, entry)).toBe(false);
  });

  it('trusts IPC only from the app document', () => {
    expect(isTrustedIpcSender(`${entry}#/device`, entry)).toBe(true);
    expect(isTrustedIpcSender('https://evil.example/', entry)).toBe(false);
    expect(isTrustedIpcSender(undefined, entry)).toBe(false);
  });
});
