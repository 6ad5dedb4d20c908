/**
 * Duplicate detection: a new case for a device that already has an open case of the same
 * template, opened within a configurable window, is a possible duplicate of it. The client runs
 * this at creation against what it already knows (and warns); the server runs it again with
 * everything, since two offline devices may log the same fault.
 */
import type { CaseStatus } from '../case-state.ts';

export interface DuplicateCandidate {
  id: string;
  equipmentId: string | null;
  templateId: string;
  status: CaseStatus;
  createdAt: string;
  trackingCode?: string;
}

export const DEFAULT_DUPLICATE_WINDOW_MS = 7 * 24 * 3_600_000;

const CLOSED: readonly CaseStatus[] = ['resolved', 'closed'];

/**
 * The open cases that `candidate` possibly duplicates, nearest in time first. Cases without a
 * device are never matched (without a device there is no evidence they are the same fault).
 * The window counts both ways: an offline device may sync a case logged before the one it meets.
 */
export function findPossibleDuplicates(
  candidate: Pick<DuplicateCandidate, 'equipmentId' | 'templateId' | 'createdAt'> & { id?: string },
  existing: readonly DuplicateCandidate[],
  windowMs: number = DEFAULT_DUPLICATE_WINDOW_MS,
): DuplicateCandidate[] {
  if (!candidate.equipmentId) return [];
  const at = Date.parse(candidate.createdAt);
  if (!Number.isFinite(at)) return [];
  return existing
    .filter(
      (c) =>
        c.id !== candidate.id &&
        c.equipmentId === candidate.equipmentId &&
        c.templateId === candidate.templateId &&
        !CLOSED.includes(c.status) &&
        Math.abs(Date.parse(c.createdAt) - at) <= windowMs,
    )
    .sort(
      (a, b) =>
        Math.abs(Date.parse(a.createdAt) - at) - Math.abs(Date.parse(b.createdAt) - at) ||
        (a.id < b.id ? -1 : 1),
    );
}

/** The case a new one should be flagged as a possible duplicate of (the nearest), if any. */
export function possibleDuplicateOf(
  candidate: Pick<DuplicateCandidate, 'equipmentId' | 'templateId' | 'createdAt'> & { id?: string },
  existing: readonly DuplicateCandidate[],
  windowMs?: number,
): DuplicateCandidate | null {
  return findPossibleDuplicates(candidate, existing, windowMs)[0] ?? null;
}

export const DUPLICATE_WARNING = {
  en: 'This device already has an open case of the same kind. Open that case instead, or save this one if it is a different fault.',
  fa: 'برای این دستگاه درخواست بازی از همین نوع وجود دارد. همان درخواست را باز کنید، یا اگر خرابی دیگری است این یکی را ذخیره کنید.',
} as const;
