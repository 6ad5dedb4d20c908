#!/usr/bin/env node
// Runs on `npm install` (the root package's postinstall): a one-statement fix to RxDB's upstream
// replication, until it is released upstream. Idempotent; fails loudly when RxDB's code no longer
// has the statement it patches (then check whether the new RxDB still needs it).
//
// The bug (docs/proposals/stale-push-guard.md, reproduced by tests/integration/stale-push.test.ts):
// `persistToMaster` in rxdb/src/replication-protocol/upstream.ts pushes a snapshot of a local
// document taken when the upstream saw it, but reads the assumed master from the meta store only
// when the push's turn comes. If the downstream wrote a newer master into the local document and
// the meta store in between, the row went out as (old snapshot, current master), which the server
// accepts: the snapshot's old fields overwrote what other devices wrote.
//
// The fix: right after reading the assumed masters, re-read the local documents and push their
// current state. The downstream writes the local document before the meta store, so a local state
// read after the meta is never older than the master read from it; any newer local write is pushed
// now (its own later turn then finds nothing left to push).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARK = 'emdad-field: re-read the fork after the assumed master';

// The statement of each build (ESM and CommonJS) after which the fix goes.
const ANCHOR = /^(\s*)var assumedMasterState = await [^\n]*getAssumedMasterState\)?\(state, docIds\);\n/m;

function fix(indent) {
  return [
    `/* ${MARK} (docs/proposals/stale-push-guard.md) */`,
    `if (state.events.canceled.getValue()) {`,
    `  return false;`,
    `}`,
    `var currentForkDocs = await state.input.forkInstance.findDocumentsById(docIds, true);`,
    `currentForkDocs.forEach(currentForkDoc => {`,
    `  upDocsById[currentForkDoc[state.primaryPath]] = currentForkDoc;`,
    `});`,
  ]
    .map((line) => indent + line + '\n')
    .join('');
}

const require = createRequire(import.meta.url);
let root;
try {
  root = dirname(require.resolve('rxdb/package.json'));
} catch {
  console.log('patch-rxdb: rxdb is not installed, nothing to patch');
  process.exit(0);
}

let failed = false;
let patched = false;
for (const build of ['esm', 'cjs']) {
  const file = join(root, 'dist', build, 'replication-protocol', 'upstream.js');
  const code = readFileSync(file, 'utf8');
  if (code.includes(MARK)) continue;
  const match = ANCHOR.exec(code);
  if (!match) {
    console.error(`patch-rxdb: ${file} has no "getAssumedMasterState(state, docIds)" statement to patch`);
    failed = true;
    continue;
  }
  const at = match.index + match[0].length;
  writeFileSync(file, code.slice(0, at) + fix(match[1]) + code.slice(at));
  patched = true;
  console.log(`patch-rxdb: patched ${file}`);
}
// Vite's dev server keeps a pre-bundled copy of its dependencies: drop it so it bundles the fix.
if (patched) {
  for (const dir of ['node_modules/.vite', 'renderer/node_modules/.vite'])
    rmSync(join(dirname(root), '..', dir), { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
