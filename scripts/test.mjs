#!/usr/bin/env node
// `npm test`: the whole suite CI runs, in phases, ending with one plain summary line.
//   1. Debian packages (installs them when root, otherwise says what to install)
//   2. typecheck, lint (layer rules), format check
//   3. unit projects, then the renderer build, integration (PGlite + a throw-away PostgreSQL), e2e (Chromium)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian-deps.mjs';

const UNIT_PROJECTS = ['domain', 'device-drivers', 'sync-server', 'renderer', 'electron', 'lint'];
const reportDir = mkdtempSync(join(tmpdir(), 'emdad-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function run(title, cmd, args, { env = {} } = {}) {
  console.log(`\n=== ${title} ===`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  console.log(
    `--- ${title}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (!ok) failures.push(title);
  return ok;
}

function vitest(title, projects) {
  const out = join(reportDir, `${title}.json`);
  const args = [
    'vitest',
    'run',
    ...projects.flatMap((p) => ['--project', p]),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
  ];
  const ok = run(title, 'npx', args);
  try {
    const report = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    if (!ok && report.numFailedTests === 0) totals.failed += 1; // a suite that failed to load counts
  } catch {
    if (!ok) totals.failed += 1;
  }
  return ok;
}

if (!ensureDebianPackages()) process.exit(1);

run('typecheck', 'npx', ['tsc', '-b']);
run('lint', 'npx', ['eslint', '.', '--max-warnings', '0']);
run('format', 'npx', ['prettier', '--check', '.', '--log-level', 'warn']);
vitest('unit', UNIT_PROJECTS);
run('renderer build', 'npm', ['run', 'build', '--silent']);
vitest('integration', ['integration']);
vitest('e2e', ['e2e']);

rmSync(reportDir, { recursive: true, force: true });
if (failures.length) console.log(`\nFailed steps: ${failures.join(', ')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failures.length ? 1 : 0);
