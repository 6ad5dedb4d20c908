/**
 * What other packages (tests, tools) may use from the renderer without a browser: the local
 * databases, the replication client, the tracking sequence, the offline verifier and the case form
 * logic. Everything here runs in Node 20 as well as in Chromium.
 */
export * from './db/database.ts';
export * from './db/tracking-sequence.ts';
export * from './sync/case-replication.ts';
export * from './sync/http.ts';
export * from './sync/sse.ts';
export * from './auth/offline-verifier.ts';
export * from './auth/auth-service.ts';
export * from './cases/case-form.ts';
