export {
  createSyncServer,
  DEFAULT_RENDERER_DIST,
  SERVER_VERSION,
  type SyncServer,
  type SyncServerOptions,
} from './server.ts';
export { openDatabase, type DatabaseOptions, type Db, type Queryable } from './db/index.ts';
export { runMigrations, MIGRATIONS } from './db/migrations.ts';
export { seedDemoData } from './seed.ts';
export { PUSH_BODY_LIMIT_BYTES } from './routes/replication.ts';
export { defaultDataDir } from './config.ts';
