import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as electronPackage from './index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('@emdad/electron public API', () => {
  it('exports the Node-safe pieces', () => {
    for (const name of [
      'createDeviceHandlerMap',
      'dispatchDeviceRequest',
      'startLocalAgent',
      'startDeviceAgent',
      'buildContentSecurityPolicy',
      'createDeviceBridge',
    ]) {
      expect(typeof (electronPackage as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('keeps every import of the electron module in the two bundled entry points', () => {
    // `require('electron')` from plain Node tries to download the binary (DEVELOPERS.md).
    const sources = [
      'handlers',
      'csp',
      'config',
      'ipc',
      'preload-api',
      'window-policy',
      'app-protocol',
      'device-backend',
      'agent/local-agent',
      'agent/device-agent',
      'agent/main',
    ];
    for (const source of sources) {
      const text = readFileSync(path.join(here, `${source}.ts`), 'utf8');
      expect(text, source).not.toMatch(/from ['"]electron['"]|require\(['"]electron['"]\)/);
    }
  });
});
