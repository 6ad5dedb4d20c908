/** Shared bench plumbing: Chromium launch and result files. Files starting with `_` are not benches. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

export function writeResult(name: string, result: { ratio: number } & Record<string, unknown>): void {
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${name}.json`;
  const body = {
    ...result,
    measuredAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
  };
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

/** The throw-away PostgreSQL cluster of tests/support/postgres.ts (initdb + pg_ctl, loopback, own port). */
export interface BenchPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts tests/support/postgres.ts's throw-away cluster. Imported by path at run time because
 * `tests/support` is outside the @emdad/tests package's exports and outside this project's rootDir.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const href = new URL('../tests/support/postgres.ts', import.meta.url).href;
  const mod = (await import(href)) as {
    postgresAvailable(): boolean;
    startThrowawayPostgres(): Promise<BenchPostgres>;
  };
  if (!mod.postgresAvailable())
    throw new Error(
      'This benchmark needs the Debian PostgreSQL server (apt-get install postgresql) and a postgres user.',
    );
  return await mod.startThrowawayPostgres();
}

/** The q-quantile (0..1) of a list of numbers, nearest rank; null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? null;
}
