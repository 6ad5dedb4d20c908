/**
 * Three-way merge of a document's `attachments` references, for conflict handlers.
 *
 * Why a rule of its own: a field-level merge where "both sides changed → the server wins" drops a
 * receipt attached on one device when another device (or the server) changed the list too — or
 * when the push that created the document lost its answer, so the merge has no base at all and
 * every field counts as changed by the server. References are a set keyed by SHA-256, so both
 * sides' additions and removals can be kept: the result is the server's list, plus what this
 * device added, minus what this device removed (relative to the base it started from). Without a
 * base nothing is known to be removed: the union.
 */
import type { AttachmentRef } from './model/attachments.ts';

function refsOf(value: unknown): AttachmentRef[] {
  return Array.isArray(value) ? (value as AttachmentRef[]).filter((r) => typeof r?.sha256 === 'string') : [];
}

export function mergeAttachmentRefs(mine: unknown, base: unknown, theirs: unknown): AttachmentRef[] {
  const mineRefs = refsOf(mine);
  const theirRefs = refsOf(theirs);
  const baseKnown = Array.isArray(base);
  const inBase = new Set(refsOf(base).map((r) => r.sha256));
  const inMine = new Set(mineRefs.map((r) => r.sha256));
  const removedByMe = baseKnown ? new Set([...inBase].filter((sha) => !inMine.has(sha))) : new Set<string>();
  const merged = theirRefs.filter((r) => !removedByMe.has(r.sha256));
  const present = new Set(merged.map((r) => r.sha256));
  for (const ref of mineRefs) {
    if (present.has(ref.sha256)) continue;
    // Mine and not in theirs: my addition — unless it was in the base and the server removed it.
    if (baseKnown && inBase.has(ref.sha256)) continue;
    merged.push(ref);
    present.add(ref.sha256);
  }
  return merged;
}
