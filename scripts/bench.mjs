#!/usr/bin/env node
// `npm run bench [-- NAME…]`: runs bench/NAME.ts (all of them when no name is given). Each bench
// writes bench/results/NAME.json with a top-level numeric `ratio` measured within that one run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const available = readdirSync('bench')
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : available;
let failed = false;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`No benchmark named "${name}". Available: ${available.join(', ')}`);
    failed = true;
    continue;
  }
  console.log(`\n=== bench ${name} ===`);
  const r = spawnSync('npx', ['tsx', `bench/${name}.ts`], { stdio: 'inherit' });
  const file = `bench/results/${name}.json`;
  if (r.status !== 0 || !existsSync(file)) {
    console.error(`bench ${name} failed (exit ${r.status})`);
    failed = true;
    continue;
  }
  const { ratio } = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof ratio !== 'number') {
    console.error(`${file} has no numeric top-level "ratio"`);
    failed = true;
  } else console.log(`${file}: ratio ${ratio}`);
}
process.exit(failed ? 1 : 0);
