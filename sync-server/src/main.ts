/**
 * Starts the sync server from the environment:
 *   PORT (8787), HOST (127.0.0.1), DATABASE_URL (a real PostgreSQL; otherwise embedded PGlite in
 *   EMDAD_DATA_DIR, default $XDG_DATA_HOME/emdad-field or ~/.local/share/emdad-field),
 *   EMDAD_SEED (demo | none; default demo), EMDAD_RENDERER_DIST (built console to serve at /),
 *   EMDAD_ACCESS_TOKEN_TTL_SECONDS (900), EMDAD_LOGIN_RATE_LIMIT (login attempts per IP per minute, 30),
 *   EMDAD_PUBLIC_TRACK_RATE_LIMIT (public tracking requests per IP per minute, 20),
 *   EMDAD_SLA_TICK_MS (the case engine's timer, 60000), EMDAD_LOG_LEVEL (info).
 */
import { join } from 'node:path';
import { defaultDataDir } from './config.ts';
import { createSyncServer } from './server.ts';

async function main(): Promise<void> {
  const env = process.env;
  const port = Number(env.PORT ?? 8787);
  const host = env.HOST ?? '127.0.0.1';
  const databaseUrl = env.DATABASE_URL?.trim();
  const dataDir = env.EMDAD_DATA_DIR?.trim() || join(defaultDataDir(env), 'pglite');
  const seed = (env.EMDAD_SEED ?? 'demo') === 'demo' ? 'demo' : false;
  const ttl = env.EMDAD_ACCESS_TOKEN_TTL_SECONDS ? Number(env.EMDAD_ACCESS_TOKEN_TTL_SECONDS) : undefined;
  const loginRate = env.EMDAD_LOGIN_RATE_LIMIT ? Number(env.EMDAD_LOGIN_RATE_LIMIT) : undefined;
  const trackRate = env.EMDAD_PUBLIC_TRACK_RATE_LIMIT ? Number(env.EMDAD_PUBLIC_TRACK_RATE_LIMIT) : undefined;
  const slaTick = env.EMDAD_SLA_TICK_MS ? Number(env.EMDAD_SLA_TICK_MS) : undefined;

  const server = await createSyncServer({
    database: databaseUrl ? { kind: 'postgres', url: databaseUrl } : { kind: 'pglite', dataDir },
    seed,
    ...(ttl ? { accessTokenTtlSeconds: ttl } : {}),
    ...(loginRate ? { loginRateLimitPerMinute: loginRate } : {}),
    ...(trackRate ? { publicTrackRateLimitPerMinute: trackRate } : {}),
    logger: { level: env.EMDAD_LOG_LEVEL ?? 'info' },
    // The case engine (SLA, routing, escalation, notifications) always runs in the real server.
    engine: slaTick ? { slaTickMs: slaTick } : {},
  });
  const address = await server.app.listen({ port, host });
  const where = databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${dataDir}`;
  console.log(
    `Emdad sync server listening on ${address} — database: ${where}${seed ? ', demo data loaded (see fixtures/README.md)' : ''}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the sync server`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('The sync server could not start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
