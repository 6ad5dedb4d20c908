/**
 * The per-install tracking sequence (domain/src/tracking-code.ts: `PPP-YYYY-SSSSSS-C`). Uniqueness
 * without a round trip rests on this number never being handed out twice by one install, so:
 * - it lives in the device database (it survives sign-out and reloads, and is shared by all users
 *   of the install, who share its prefix);
 * - the read-increment-write runs under a Web Lock when the browser has them, so two tabs of the
 *   same profile never mint the same number, and through RxDB's incremental write queue inside one tab;
 * - a number is spent when minted, even if the case is then never saved: a gap is harmless, a
 *   repeat is not.
 */
import { formatTrackingCode, jalaliYearOf } from '@emdad/domain';
import type { DeviceDatabase } from './database.ts';

const LOCK_NAME = 'emdad-tracking-sequence';

interface SequenceDoc {
  last: number;
}

function sequenceDocId(prefix: string): string {
  return `tracking-seq-${prefix}`;
}

async function incrementSequence(db: DeviceDatabase, prefix: string): Promise<number> {
  const id = sequenceDocId(prefix);
  let doc = await db.getLocal<SequenceDoc>(id);
  if (!doc) {
    try {
      doc = await db.insertLocal<SequenceDoc>(id, { last: 0 });
    } catch {
      // Another writer created it between our read and insert: use theirs.
      doc = await db.getLocal<SequenceDoc>(id);
    }
  }
  if (!doc) throw new Error('tracking sequence document could not be created');
  let minted = 0;
  await doc.incrementalModify((data) => {
    minted = (typeof data.last === 'number' ? data.last : 0) + 1;
    return { ...data, last: minted };
  });
  return minted;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function lockManager(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : null;
}

/** Hands out the next sequence number of this install's prefix; never the same one twice. */
export async function nextTrackingSequence(db: DeviceDatabase, prefix: string): Promise<number> {
  const locks = lockManager();
  if (locks) return locks.request(LOCK_NAME, () => incrementSequence(db, prefix));
  return incrementSequence(db, prefix);
}

/** Mints a new tracking code for a case opened at `now` on this install. */
export async function mintTrackingCode(
  db: DeviceDatabase,
  prefix: string,
  now: Date = new Date(),
): Promise<string> {
  const sequence = await nextTrackingSequence(db, prefix);
  return formatTrackingCode(prefix, jalaliYearOf(now), sequence);
}
