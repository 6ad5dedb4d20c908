/**
 * Sandboxed preload (bundled to one CommonJS file, dist/preload.cjs, by ../build.mjs: sandboxed
 * preloads cannot load other files). Keep it this thin; the logic lives in preload-api.ts.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createDeviceBridge, runtimeConfigFromArgv } from './preload-api.ts';

contextBridge.exposeInMainWorld('emdadDevice', createDeviceBridge(ipcRenderer));
contextBridge.exposeInMainWorld('emdadConfig', runtimeConfigFromArgv(process.argv));
