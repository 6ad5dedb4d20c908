#!/usr/bin/env node
// Runs on `npm install` (the root package's postinstall): two small fixes to RxDB's replication
// protocol (the upstream's and the downstream's, below), until they are released upstream.
// Idempotent; fails loudly when RxDB's code no longer has a statement it patches (then check whether
// the new RxDB still needs it).
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

// Each patch: the file in RxDB's builds, a marker (idempotence), the statement after which the fix
// goes (in the ESM and the CommonJS build alike), and the fix, indented like that statement.
const PATCHES = [
  {
    file: join('replication-protocol', 'upstream.js'),
    mark: 'emdad-field: re-read the fork after the assumed master',
    anchor: /^(\s*)var assumedMasterState = await [^\n]*getAssumedMasterState\)?\(state, docIds\);\n/m,
    fix: (mark) => [
      `/* ${mark} (docs/proposals/stale-push-guard.md) */`,
      `if (state.events.canceled.getValue()) {`,
      `  return false;`,
      `}`,
      `var currentForkDocs = await state.input.forkInstance.findDocumentsById(docIds, true);`,
      `currentForkDocs.forEach(currentForkDoc => {`,
      `  upDocsById[currentForkDoc[state.primaryPath]] = currentForkDoc;`,
      `});`,
    ],
  },
  {
    // The second fix: `persistFromMaster` in rxdb/src/replication-protocol/downstream.ts writes an
    // incoming master over the local document whenever that equals the assumed master, however old
    // the incoming master is. Live changes are delayed while a push runs and queued behind pulls, so
    // an older version can be applied after a newer one and put a record back (then a later local
    // edit is made on, and pushed from, that older copy). Our documents carry the server's stamp:
    // a master older than the local document's stamp is never written. A deleted local document
    // takes anything (a record that left the user's scope may come back with an older stamp).
    file: join('replication-protocol', 'downstream.js'),
    mark: 'emdad-field: never an older master over a newer local copy',
    anchor: /^(\s*)var assumedMaster = assumedMasterState\[docId\];\n/m,
    fix: (mark) => [
      `/* ${mark} (README, "Sync and conflicts") */`,
      `if (forkStateFullDoc && !forkStateFullDoc._deleted && typeof masterState.serverUpdatedAt === 'number' && typeof forkStateFullDoc.serverUpdatedAt === 'number' && masterState.serverUpdatedAt < forkStateFullDoc.serverUpdatedAt) {`,
      `  return;`,
      `}`,
    ],
  },
];

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
for (const patch of PATCHES) {
  for (const build of ['esm', 'cjs']) {
    const file = join(root, 'dist', build, patch.file);
    const code = readFileSync(file, 'utf8');
    if (code.includes(patch.mark)) continue;
    const match = patch.anchor.exec(code);
    if (!match) {
      console.error(`patch-rxdb: ${file} has no statement matching ${patch.anchor} to patch`);
      failed = true;
      continue;
    }
    const at = match.index + match[0].length;
    const fix = patch
      .fix(patch.mark)
      .map((line) => match[1] + line + '\n')
      .join('');
    writeFileSync(file, code.slice(0, at) + fix + code.slice(at));
    patched = true;
    console.log(`patch-rxdb: patched ${file}`);
  }
}
// Vite's dev server keeps a pre-bundled copy of its dependencies: drop it so it bundles the fix.
if (patched) {
  for (const dir of ['node_modules/.vite', 'renderer/node_modules/.vite'])
    rmSync(join(dirname(root), '..', dir), { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
