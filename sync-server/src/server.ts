/**
 * The sync server factory, used by `main.ts`, tests and other tools:
 * `createSyncServer(options)` → `{ app, db, close() }` (the app is ready but not listening).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { createTokenService } from './auth/tokens.ts';
import { dummyPasswordHash } from './auth/passwords.ts';
import { openDatabase, type DatabaseOptions, type Db } from './db/index.ts';
import { runMigrations } from './db/migrations.ts';
import { errorBody, installErrorHandlers } from './errors.ts';
import { ChangeHub, HEARTBEAT_MS } from './replication/stream.ts';
import { registerAdminRoutes } from './routes/admin.ts';
import { registerAttachmentRoutes } from './routes/attachments.ts';
import { registerApiRoutes } from './routes/api.ts';
import { registerAuthRoutes } from './routes/auth.ts';
import { FieldWorkflows } from './engine/field-workflows.ts';
import { ServerWriter } from './engine/server-writes.ts';
import { CaseEngine } from './engine/case-engine.ts';
import { engineSettings, referenceSla, type EngineSettings } from './engine/settings.ts';
import { registerCaseSlaRoutes } from './routes/case-sla.ts';
import { registerCaseEscalateRoutes } from './routes/case-escalate.ts';
import { registerFieldRoutes } from './routes/field.ts';
import { registerReplicationRoutes } from './routes/replication.ts';
import { SurveyEngine } from './engine/surveys.ts';
import { registerPublicTrackingRoutes } from './routes/public-tracking.ts';
import { DEFAULT_LOCKOUT, type LockoutPolicy } from './public-tracking/throttle.ts';
import { seedDemoData } from './seed.ts';

export interface SyncServerOptions {
  database: DatabaseOptions;
  /** 'demo' loads fixtures/ (idempotent). Default: false. */
  seed?: 'demo' | false;
  /** The server's clock (ms since epoch): stamps, token times, lockouts. Injectable for tests. */
  now?: () => number;
  /** Access token lifetime; default 15 minutes. */
  accessTokenTtlSeconds?: number;
  /** Upper bound of the growing delay after failed logins; default 2000 ms. */
  loginDelayCapMs?: number;
  /** Login attempts per IP address per minute; default 30. */
  loginRateLimitPerMinute?: number;
  /** Built renderer (index.html + assets) served at `/`; default renderer/dist when it exists. */
  rendererDist?: string | false;
  /** Fastify's logger option; default false. */
  logger?: boolean | { level: string };
  /** Interval of the SSE keep-alive comment; default 20 s. */
  streamHeartbeatMs?: number;
  /** Answer CORS requests from any origin (tokens travel in headers, never cookies); default true. */
  cors?: boolean;
  /**
   * The case engine (SLA, routing, escalation, duplicates; src/engine/case-engine.ts): settings over
   * the defaults (`{}` for all of them; `{ slaTickMs: false }` for tests that call `engine.tick()`).
   * Absent: the engine does not react to pushes and runs no timer (tests of other features see only
   * their own writes); `main.ts` always turns it on.
   */
  engine?: Partial<EngineSettings>;
  /** Public tracking: requests per IP address per minute to each public route; default 20. */
  publicTrackRateLimitPerMinute?: number;
  /** Public tracking: the floor every answer waits for (no timing oracle); default 250 ms. */
  publicTrackMinResponseMs?: number;
  /** Public tracking: wrong phone digits per tracking code before it locks; default 5 in 15 min → 30 min. */
  publicTrackLockout?: LockoutPolicy;
}

export interface SyncServer {
  app: FastifyInstance;
  db: Db;
  /** Open live replication streams on this instance (for tests and health reporting). */
  liveStreams(): number;
  /** The case engine: `tick()` runs the SLA timer once (tests move the injected clock, then tick). */
  engine: CaseEngine;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const SERVER_VERSION: string = (
  JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string }
).version;
export const DEFAULT_RENDERER_DIST = resolve(here, '..', '..', 'renderer', 'dist');
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PUT, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, last-event-id, x-emdad-device-time',
  'access-control-max-age': '600',
} as const;

/** The CSP of the console served at `/` (the same renderer as the field app; see electron/src/csp.ts). */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:*",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

function isApiPath(url: string): boolean {
  return url === '/health' || url.startsWith('/api/') || url === '/api';
}

export async function createSyncServer(options: SyncServerOptions): Promise<SyncServer> {
  const now = options.now ?? Date.now;
  const db = await openDatabase(options.database);
  let hub: ChangeHub | undefined;
  try {
    await runMigrations(db);
    if (options.seed === 'demo') await seedDemoData(db);
    const tokens = await createTokenService(db, {
      now,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 15 * 60,
    });
    await dummyPasswordHash();
    hub = new ChangeHub(db);
    await hub.start();

    // forceCloseConnections: on shutdown, live streams and idle keep-alive sockets are cut (clients reconnect and RESYNC).
    const app = Fastify({
      logger: options.logger ?? false,
      bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
      trustProxy: false,
      forceCloseConnections: true,
    });
    installErrorHandlers(app);
    const cors = options.cors ?? true;
    if (cors) {
      app.addHook('onRequest', async (request, reply) => {
        if (!isApiPath(request.url.split('?')[0] ?? '')) return;
        reply.headers(CORS_HEADERS);
        if (request.method === 'OPTIONS') return reply.status(204).send();
      });
    }
    // Baseline hardening for every answer; the console's pages also carry a CSP: code only from this
    // origin and never eval, connections only to this server and the local device agent on loopback.
    app.addHook('onSend', async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      if (!isApiPath(request.url.split('?')[0] ?? '')) reply.header('content-security-policy', CONSOLE_CSP);
    });
    await app.register(fastifyRateLimit, { global: false });

    registerApiRoutes(app, {
      db,
      tokens,
      version: SERVER_VERSION,
      sla: referenceSla(engineSettings(options.engine)),
    });
    registerAuthRoutes(app, {
      db,
      tokens,
      now,
      loginDelayCapMs: options.loginDelayCapMs ?? 2000,
      loginRateLimitPerMinute: options.loginRateLimitPerMinute ?? 30,
    });
    registerAdminRoutes(app, { db, tokens, hub, now });
    registerAttachmentRoutes(app, { db, tokens, now });
    const fieldWriter = new ServerWriter(db, hub, now);
    const fieldWorkflows = new FieldWorkflows(db, fieldWriter);
    await fieldWorkflows.sweep(now()); // what a crash between a push and its follow-up left undone
    registerFieldRoutes(app, { db, tokens, writer: fieldWriter });
    const surveys = new SurveyEngine(db, new ServerWriter(db, hub, now));
    const surveyReaction = surveys.pushReaction((error) =>
      app.log.error({ err: error }, 'survey workflow after a push'),
    );
    registerPublicTrackingRoutes(app, {
      db,
      now,
      surveys,
      rateLimitPerMinute: options.publicTrackRateLimitPerMinute ?? 20,
      lockout: options.publicTrackLockout ?? DEFAULT_LOCKOUT,
      minResponseMs: options.publicTrackMinResponseMs ?? 250,
    });
    const caseEngine = new CaseEngine(
      db,
      new ServerWriter(db, hub, now),
      now,
      engineSettings(options.engine),
    );
    const engineOn = options.engine !== undefined;
    registerCaseSlaRoutes(app, { db, tokens, now, settings: caseEngine.settings });
    registerCaseEscalateRoutes(app, { db, tokens, engine: caseEngine });
    // Call-back tasks the survey rules open get their SLA, routing event and notification from the
    // case engine, as a pushed case does.
    if (engineOn)
      surveys.onCasesWritten = (stamp) => caseEngine.pushReaction('cases', stamp, { deviceNow: null });
    await surveyReaction.reconcileAtStart();
    registerReplicationRoutes(app, {
      afterPush: [
        ...(engineOn ? [caseEngine.pushReaction] : []),
        (collection, stamp) => fieldWorkflows.afterPush(collection, stamp),
        surveyReaction.react,
      ],
      db,
      tokens,
      hub,
      now,
      heartbeatMs: options.streamHeartbeatMs ?? HEARTBEAT_MS,
      streamHeaders: (_request: FastifyRequest) => (cors ? { ...CORS_HEADERS } : {}),
    });

    // The central console: the same renderer, served with an SPA fallback. API paths stay JSON 404s.
    const dist =
      options.rendererDist === false
        ? null
        : (options.rendererDist ?? process.env.EMDAD_RENDERER_DIST ?? DEFAULT_RENDERER_DIST);
    const serveConsole = dist !== null && existsSync(join(dist, 'index.html'));
    if (serveConsole) await app.register(fastifyStatic, { root: dist, prefix: '/', index: ['index.html'] });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      if (serveConsole && request.method === 'GET' && !isApiPath(path))
        return reply.type('text/html').sendFile('index.html');
      return reply.status(404).send(errorBody('not_found', `No route ${request.method} ${path}.`));
    });
    await app.ready();

    if (engineOn) caseEngine.start();

    const startedHub = hub;
    let closing: Promise<void> | undefined;
    return {
      app,
      db,
      liveStreams: () => startedHub.size,
      engine: caseEngine,
      close() {
        closing ??= (async () => {
          await caseEngine.stop();
          await startedHub.close();
          await app.close();
          await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await hub?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    throw error;
  }
}
