/**
 * Builds the real preload bundle and runs it the way a sandboxed renderer does: a bare CommonJS
 * scope where `require` knows only 'electron' (here a fake) — proving the bundle loads no other
 * file and no Node built-in, and exposes exactly two globals.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DEVICE_CHANNELS } from '@emdad/domain';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('sandboxed preload bundle', () => {
  it('requires only electron and exposes emdadDevice and emdadConfig', async () => {
    const result = await build({
      entryPoints: [path.join(here, 'preload.ts')],
      bundle: true,
      format: 'cjs',
      platform: 'browser',
      external: ['electron'],
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]!.text;
    const required: string[] = [];
    const exposed: Record<string, unknown> = {};
    const invoked: unknown[] = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, value: unknown) => (exposed[key] = value) },
      ipcRenderer: {
        invoke: async (channel: string, payload: unknown) => invoked.push([channel, payload]),
        on: () => undefined,
        removeListener: () => undefined,
      },
    };
    const module = { exports: {} };
    runInNewContext(code, {
      module,
      exports: module.exports,
      process: { argv: ['electron', '--emdad-server-url=http://192.0.2.10:8787'] },
      require: (id: string) => {
        required.push(id);
        if (id === 'electron') return electron;
        throw new Error(`a sandboxed preload cannot require ${id}`);
      },
    });
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed).sort()).toEqual(['emdadConfig', 'emdadDevice']);
    expect(exposed.emdadConfig).toEqual({ serverUrl: 'http://192.0.2.10:8787' });
    const device = exposed.emdadDevice as { invoke(c: string, p: unknown): Promise<unknown> };
    await device.invoke(DEVICE_CHANNELS.ping, { nonce: 'b' });
    expect(invoked).toEqual([[DEVICE_CHANNELS.ping, { nonce: 'b' }]]);
  });
});
