/**
 * The window's security settings and the navigation / IPC-sender rules, as pure functions so they
 * are tested without the Electron binary. `main.ts` applies them.
 * See Electron's security checklist (https://www.electronjs.org/docs/latest/tutorial/security).
 */
import { SERVER_URL_ARGUMENT } from './preload-api.ts';

export interface SecureWebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  experimentalFeatures: false;
  webviewTag: false;
  navigateOnDragDrop: false;
  spellcheck: false;
  additionalArguments: string[];
}

export function secureWebPreferences(preloadPath: string, serverUrl: string): SecureWebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    // A file dropped on the window must not replace the app with that file.
    navigateOnDragDrop: false,
    // The spellchecker downloads dictionaries from Google: the app is offline and Persian-first.
    spellcheck: false,
    additionalArguments: [`${SERVER_URL_ARGUMENT}${serverUrl}`],
  };
}

/** The document part of a URL (no hash): the hash router changes only the hash. */
function documentOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    parsed.hash = '';
    return parsed.href;
  } catch {
    return null;
  }
}

/**
 * The window may only ever show the app's own document: any navigation to another document
 * (a link in a case note, a redirect, a dropped file) is refused.
 */
export function isAllowedNavigation(targetUrl: string, appEntryUrl: string): boolean {
  const target = documentOf(targetUrl);
  return target !== null && target === documentOf(appEntryUrl);
}

/** IPC is answered only for the app's own top-level document (checklist: validate the sender). */
export function isTrustedIpcSender(senderFrameUrl: string | undefined, appEntryUrl: string): boolean {
  return typeof senderFrameUrl === 'string' && isAllowedNavigation(senderFrameUrl, appEntryUrl);
}
