/**
 * Pure pieces of the virtualised case list (CaseListPage.tsx), kept apart so they are unit-tested.
 *
 * Why ascending + reversed: RxDB's query planner satisfies a sort from an index only when every sort
 * direction is ascending (a `desc` sort makes the Dexie storage read the range and re-sort it in
 * JavaScript on every full run). The list therefore queries `createdAt` ascending — the schema's
 * index, with RxDB's primary-key tie-break — and shows it newest first by reading it from the end.
 */
import { isCaseSynced, type CaseDoc } from '@emdad/domain';

/** The Mango query of the list: every case, in the order of the `createdAt` index. */
export const CASE_LIST_QUERY = { selector: {}, sort: [{ createdAt: 'asc' as const }] };

/** The row shown at `displayIndex` (0 = newest) of a list sorted oldest first. */
export function newestFirst<T>(oldestFirst: readonly T[], displayIndex: number): T | undefined {
  if (displayIndex < 0 || displayIndex >= oldestFirst.length) return undefined;
  return oldestFirst[oldestFirst.length - 1 - displayIndex];
}

export interface VirtualSpan {
  start: number;
  end: number;
}

/**
 * Heights of the two filler rows around the rendered window, so the table keeps its full scroll
 * height while only the visible rows (plus overscan) exist in the DOM.
 */
export function spacerHeights(
  rendered: readonly VirtualSpan[],
  totalSize: number,
): { before: number; after: number } {
  const first = rendered[0];
  const last = rendered[rendered.length - 1];
  if (!first || !last) return { before: 0, after: 0 };
  return { before: Math.max(0, first.start), after: Math.max(0, totalSize - last.end) };
}

export type CaseSyncState = 'synced' | 'refused' | 'waiting';

/** What the sync badge shows: acknowledged by the server, refused by it, or not yet sent. */
export function caseSyncState(
  doc: Pick<CaseDoc, 'id' | 'updatedAt' | 'acknowledgedUpdatedAt'>,
  refusedIds: ReadonlySet<string>,
): CaseSyncState {
  if (isCaseSynced(doc)) return 'synced';
  return refusedIds.has(doc.id) ? 'refused' : 'waiting';
}

/** How many cases are not acknowledged by the server (the status bar's "not yet sent"). */
export function countUnsynced(docs: readonly Pick<CaseDoc, 'updatedAt' | 'acknowledgedUpdatedAt'>[]): number {
  let n = 0;
  for (const doc of docs) if (!isCaseSynced(doc)) n++;
  return n;
}

export type SlaBadgeState = 'on_track' | 'warning' | 'breached' | 'paused' | 'none';

/**
 * What the list shows of a case's SLA (server-owned; null until the server has evaluated it): its
 * overall state, and the next due time of a target still running (none while paused or stopped).
 */
export function slaSummary(sla: CaseDoc['sla']): { state: SlaBadgeState; dueAt: string | null } {
  if (!sla?.state) return { state: 'none', dueAt: null };
  if (sla.paused || sla.state === 'paused') return { state: 'paused', dueAt: null };
  const running = sla.targets
    ? Object.values(sla.targets)
        .filter((t) => t.state === 'on_track' || t.state === 'warning')
        .map((t) => t.dueAt)
    : [sla.firstResponseDueAt, sla.resolutionDueAt];
  const due = running.filter((d): d is string => typeof d === 'string').sort()[0] ?? null;
  return { state: sla.state, dueAt: due };
}
