/**
 * A stale local snapshot is never pushed over a newer master (docs/proposals/stale-push-guard.md,
 * first seen in chaos.test.ts with seed 1294732055).
 *
 * RxDB's upstream (rxdb/src/replication-protocol/upstream.ts, `persistToMaster`) takes a snapshot of
 * a local document when it sees it, queues the push, and reads the assumed master from its meta
 * store only when the push's turn comes. If the downstream writes a newer master into the local
 * document and the meta store in between, the row went out as (old snapshot, current master) and
 * the server accepted it, reverting what another device wrote.
 *
 * This test forces that interleaving with the real server and the renderer's replication code: the
 * device's push of one edit is held on the device, so the upstream's scan (started by a resync,
 * one document per batch) queues its snapshot of the shared case behind another held push; the
 * other device then edits the shared case and the device's downstream writes that master locally
 * before the held push is let go.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCaseSynced, type CaseDoc } from '@emdad/domain';
import {
  databaseOptions,
  demoCase,
  eventually,
  getCase,
  login,
  startClient,
  startServer,
  testDatabases,
  within,
  type RunningServer,
  type SyncClient,
} from '../support/sync-clients.ts';

async function localCase(client: SyncClient, id: string): Promise<CaseDoc | undefined> {
  return (await client.db.cases.findOne(id).exec())?.toJSON() as CaseDoc | undefined;
}

async function edit(client: SyncClient, id: string, patch: Partial<CaseDoc>): Promise<void> {
  const doc = await client.db.cases.findOne(id).exec();
  if (!doc) throw new Error(`${client.username} has no case ${id}`);
  await doc.incrementalPatch({ ...patch, updatedAt: new Date().toISOString() });
}

/** What RxDB's meta store on the device assumes the server holds for a case. */
async function assumedMaster(client: SyncClient, id: string): Promise<CaseDoc | undefined> {
  const meta = client.replication.state.metaInstance;
  if (!meta) return undefined;
  const [row] = await meta.findDocumentsById([`${id}|0`], true);
  return row?.docData as CaseDoc | undefined;
}

/** Lets queued storage writes and replication tasks run (ordering only; nothing is timed). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 200));
}

it('the installed RxDB carries both fixes (scripts/patch-rxdb.mjs, run by npm install)', () => {
  const rxdb = dirname(createRequire(import.meta.url).resolve('rxdb/package.json'));
  for (const build of ['esm', 'cjs']) {
    const read = (file: string) =>
      readFileSync(join(rxdb, 'dist', build, 'replication-protocol', file), 'utf8');
    const hint = `${build} build: run npm install or node scripts/patch-rxdb.mjs`;
    expect(read('upstream.js'), hint).toContain('emdad-field: re-read the fork after the assumed master');
    expect(read('downstream.js'), hint).toContain(
      'emdad-field: never an older master over a newer local copy',
    );
  }
});

describe.each(testDatabases())('a stale local snapshot, on %s', (kind) => {
  let running: RunningServer | undefined;
  const clients: SyncClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await running?.close();
    running = undefined;
  });

  it('is not pushed over the newer master the downstream wrote meanwhile: no field is reverted', async () => {
    running = await startServer(await databaseOptions(kind));
    const branch = await startClient(running.url, 'branch1');
    const device = await startClient(running.url, 'super1');
    clients.push(branch, device);
    const admin = await login(running.url, 'admin1');

    const shared = demoCase(branch.session, 1);
    await branch.db.cases.insert(shared);
    await eventually(async () => {
      const doc = await localCase(device, shared.id);
      return doc && isCaseSynced(doc);
    }, 'the device holds the case as synced');
    await within(device.replication.awaitInSync(), 20_000, 'device in sync');

    // 1. A resync: the device's upstream scans its local changes from its checkpoint and is held
    //    after reading (nothing new). RxDB lets the downstream run while the upstream scans.
    const heldFirstScan = device.holdNextChangesScan();
    device.replication.reSync();
    const firstScan = await within(heldFirstScan, 10_000, 'the first scan is held');
    expect(firstScan.ids).toEqual([]);

    // 2. The other device edits the case; the device's downstream writes that master into its local
    //    document and its meta store, after the upstream's checkpoint. A resync is asked for (as
    //    after every accepted push) while the upstream is still busy, so the next scan starts from
    //    the checkpoint before that write.
    await edit(branch, shared.id, { description: 'توضیح نسخه یک' });
    await eventually(
      async () =>
        (await localCase(device, shared.id))?.description === 'توضیح نسخه یک' &&
        (await assumedMaster(device, shared.id))?.description === 'توضیح نسخه یک',
      'the device has the first version, locally and as its assumed master',
    );
    device.replication.reSync();
    await settle();

    // 3. The next scan reads the downstream's version of the case (a snapshot equal to the assumed
    //    master at that moment) and is held before RxDB queues it for a push.
    const heldSecondScan = device.holdNextChangesScan();
    firstScan.release();
    const secondScan = await within(heldSecondScan, 10_000, 'the second scan is held');
    expect(secondScan.ids).toEqual([shared.id]);

    // From here on the other device must never see its subject reverted.
    const seenByBranch: string[] = [];
    const watch = branch.db.cases.findOne(shared.id).$.subscribe((doc) => {
      if (doc) seenByBranch.push(doc.subject);
    });

    // 4. While that snapshot waits, the other device edits the case again and the device's
    //    downstream writes the newer master into its local document and its meta store.
    await edit(branch, shared.id, { subject: 'عنوان نسخه دو' });
    await eventually(
      async () =>
        (await localCase(device, shared.id))?.subject === 'عنوان نسخه دو' &&
        (await assumedMaster(device, shared.id))?.subject === 'عنوان نسخه دو',
      'the device has the second version, locally and as its assumed master',
    );

    // 5. The scan goes on with its old snapshot; everything settles.
    secondScan.release();
    await within(device.replication.awaitInSync(), 20_000, 'device in sync');
    await within(branch.replication.awaitInSync(), 20_000, 'branch in sync');

    watch.unsubscribe();
    // The device made no edit: no row it sent changes a field of the master it assumed...
    for (const row of device.pushed) {
      const { subject, description } = row.newDocumentState;
      expect({ subject, description }).toEqual({
        subject: row.assumedMasterState?.subject,
        description: row.assumedMasterState?.description,
      });
    }
    // ...the other device never saw its subject reverted...
    expect(seenByBranch.slice(seenByBranch.indexOf('عنوان نسخه دو'))).not.toContain(shared.subject);
    // ...and the server keeps both of the other device's edits.
    const onServer = await getCase(running.url, admin.accessToken, shared.id);
    expect({ subject: onServer.subject, description: onServer.description }).toEqual({
      subject: 'عنوان نسخه دو',
      description: 'توضیح نسخه یک',
    });
    // Both devices converge on the server's version.
    for (const client of [branch, device]) {
      await eventually(async () => {
        const local = await localCase(client, shared.id);
        return local?.subject === onServer.subject && local.description === onServer.description;
      }, `${client.username} converges on shared`);
    }
    expect(device.refused).toEqual([]);
    expect(branch.refused).toEqual([]);
  });
});
