/**
 * A page for tests/e2e/attachments.test.ts: the renderer's own user database (RxDB on Chromium's
 * IndexedDB), attachment service, uploader and replication of expenses, driven from the test
 * through `window.emdadAttachments`. No UI: the expense screens are not this test's subject.
 */
import { documentsEqual, mergeDocumentConflict, type AuthSession, type CaseDoc } from '@emdad/domain';
import {
  COLLECTIONS,
  expenseMigrationStrategies,
  expenseRxSchema,
  type AttachmentRef,
  type ExpenseDoc,
} from '@emdad/domain/model/index';
import { rxSchemaWithAttachments } from '@emdad/renderer/attachments/rxdb';
import { openUserDatabase, type UserDatabase } from '@emdad/renderer/db/database';
import { startSessionAttachments, type SessionAttachments } from '@emdad/renderer/attachments/session';
import { startCaseReplication, type CaseReplication } from '@emdad/renderer/sync/case-replication';
import type { RxCollection } from 'rxdb';

let db: (UserDatabase & { expenses: RxCollection<ExpenseDoc> }) | null = null;
let attachments: SessionAttachments | null = null;
let replication: CaseReplication | null = null;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

const api = {
  /** Opens the user's database in this browser profile and starts sync (the same database on reload). */
  async open(session: AuthSession): Promise<void> {
    db = (await openUserDatabase(session.user.id)) as typeof db;
    // Where this build's user database does not have expenses yet, add it as the app adds a
    // collection that lists attachments (db/database.ts).
    if (!(db as { expenses?: unknown }).expenses)
      await db!.addCollections({
        expenses: {
          schema: rxSchemaWithAttachments<ExpenseDoc>(expenseRxSchema),
          migrationStrategies: expenseMigrationStrategies,
          // The domain's generic rule, as db/database.ts gives every collection but cases.
          conflictHandler: {
            isEqual: (a: object, b: object) => documentsEqual(a, b),
            resolve: async (input: Parameters<typeof mergeDocumentConflict<ExpenseDoc>>[1]) =>
              mergeDocumentConflict<ExpenseDoc>({ ...COLLECTIONS.expenses, appendOnly: false }, input),
          },
        },
      } as never);
    const auth = { getAccessToken: async () => session.accessToken, refresh: async () => false };
    attachments = startSessionAttachments({ db: db!, serverUrl: location.origin, auth, online: true });
    replication = startCaseReplication({
      collection: db!.expenses as unknown as RxCollection<CaseDoc>,
      serverUrl: location.origin,
      auth,
      retryTimeMs: 300,
      streamBackoff: { initialMs: 200, maxMs: 1000 },
      beforePush: (docs) => attachments!.beforePush(docs),
    });
    // Replication errors other than the network being away are worth seeing in the test's output.
    replication.state.error$.subscribe((error) => {
      const text = JSON.stringify((error as { parameters?: unknown }).parameters ?? {});
      if (!text.includes('network_unavailable'))
        console.error('replication error', error.code, text.slice(0, 600));
    });
  },
  async newExpense(id: string, submitterId: string): Promise<void> {
    const now = new Date().toISOString();
    await db!.expenses.insert({
      id,
      missionId: null,
      submitterId,
      category: 'transport',
      amount: 2_400_000,
      currency: 'IRR',
      description: 'Taxi to the merchant',
      hasReceipt: false,
      status: 'draft',
      submittedAt: null,
      decidedBy: null,
      decidedAt: null,
      rejectionReason: null,
      createdAt: now,
      updatedAt: now,
      attachments: [],
    });
  },
  /** Attaches a real File, as an <input type="file"> hands it over. */
  async attach(docId: string, base64: string, name: string, type: string): Promise<AttachmentRef> {
    const bytes = fromBase64(base64);
    const file = new File([bytes as Uint8Array<ArrayBuffer>], name, { type });
    return await attachments!.service.attach('expenses', docId, file);
  },
  async refusal(
    docId: string,
    size: number,
    type: string,
  ): Promise<{ code: string; en: string; fa: string }> {
    const file = new File([new Uint8Array(size)], 'big.bin', { type });
    try {
      await attachments!.service.attach('expenses', docId, file);
      return { code: 'none', en: '', fa: '' };
    } catch (err) {
      const e = err as { code: string; sentence: { en: string; fa: string } };
      return { code: e.code, en: e.sentence.en, fa: e.sentence.fa };
    }
  },
  async pending(): Promise<{ sha256: string; attempts: number }[]> {
    return (await attachments!.uploader!.pending()).map((e) => ({ sha256: e.sha256, attempts: e.attempts }));
  },
  async runUploads(): Promise<void> {
    await attachments!.uploader!.runOnce();
  },
  async refs(docId: string): Promise<AttachmentRef[] | null> {
    const doc = await db!.expenses.findOne(docId).exec();
    return doc ? ((doc.get('attachments') as AttachmentRef[]) ?? []) : null;
  },
  async isOnDevice(docId: string, sha256: string): Promise<boolean> {
    return await attachments!.service.isOnDevice('expenses', docId, sha256);
  },
  async read(docId: string, sha256: string): Promise<{ type: string; base64: string }> {
    const blob = await attachments!.service.read('expenses', docId, sha256);
    return { type: blob.type, base64: toBase64(new Uint8Array(await blob.arrayBuffer())) };
  },
  async serverStamp(docId: string): Promise<number | null> {
    const doc = await db!.expenses.findOne(docId).exec();
    return (doc?.get('serverUpdatedAt') as number | null | undefined) ?? null;
  },
  reSync(): void {
    replication?.reSync();
    attachments?.uploader?.kick();
  },
};

declare global {
  interface Window {
    emdadAttachments: typeof api;
  }
}
window.emdadAttachments = api;
document.getElementById('state')!.textContent = 'ready';
