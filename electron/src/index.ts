/**
 * The electron package's Node-safe public API (nothing here imports 'electron', so tests and the
 * `npm start` agent can use it without the Electron binary). `main.ts` and `preload.ts` are the
 * Electron entry points and are bundled by ../build.mjs, never imported.
 */
export * from './handlers.ts';
export * from './csp.ts';
export * from './config.ts';
export * from './ipc.ts';
export * from './preload-api.ts';
export * from './window-policy.ts';
export * from './app-protocol.ts';
export * from './device-backend.ts';
export * from './agent/local-agent.ts';
export * from './agent/device-agent.ts';
