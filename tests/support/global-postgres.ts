/**
 * Vitest global setup: when PostgreSQL is installed, start one throw-away cluster for the run and
 * hand its URL to the tests as EMDAD_TEST_DATABASE_URL. In CI (CI=true) a missing PostgreSQL is an
 * error, not a skip: the suite must prove both databases.
 */
import { postgresAvailable, startThrowawayPostgres, type ThrowawayPostgres } from './postgres.ts';

let cluster: ThrowawayPostgres | undefined;

export async function setup(): Promise<void> {
  if (process.env.EMDAD_TEST_DATABASE_URL) return;
  if (!postgresAvailable()) {
    if (process.env.CI) throw new Error('PostgreSQL is required in CI: apt-get install postgresql');
    console.warn('PostgreSQL not installed: database tests run on PGlite only.');
    return;
  }
  cluster = await startThrowawayPostgres();
  process.env.EMDAD_TEST_DATABASE_URL = cluster.url;
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
