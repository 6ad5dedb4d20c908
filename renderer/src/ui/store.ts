/** UI state only (zustand). Documents live in RxDB; this holds what the screens show about them. */
import { create } from 'zustand';
import { errorSentence, isErrorCode, type Language, type RefusedWrite } from '@emdad/domain';
import type { CollectionName } from '@emdad/domain/model/index';
import type { ReplicationStatus } from '../sync/collection-replication.ts';

/** A write the server refused, with the collection it belongs to. */
export interface RefusedRecord extends RefusedWrite {
  collection: CollectionName;
}

/** At most this many refusals are kept (the newest); each names its record, so the list stays short. */
export const REFUSALS_KEPT = 50;

export interface UiState {
  lang: Language;
  browserOnline: boolean;
  sync: ReplicationStatus;
  /** Writes the server refused, newest last (kept for this page's life). */
  refused: RefusedRecord[];
  setLang(lang: Language): void;
  setBrowserOnline(online: boolean): void;
  setSync(status: ReplicationStatus): void;
  addRefused(collection: CollectionName, rows: RefusedWrite[]): void;
  /** The user read it (or fixed the record): it leaves the panel. */
  dismissRefused(collection: CollectionName, id: string): void;
  resetSync(): void;
}

const initialSync: ReplicationStatus = { reachable: null, lastSyncAt: null, error: null, streaming: false };

export const useUiStore = create<UiState>((set) => ({
  lang: 'fa',
  browserOnline: typeof navigator === 'undefined' ? true : navigator.onLine,
  sync: initialSync,
  refused: [],
  setLang: (lang) => set({ lang }),
  setBrowserOnline: (browserOnline) => set({ browserOnline }),
  setSync: (sync) => set({ sync }),
  addRefused: (collection, rows) =>
    set((s) => {
      const added = rows.map((row) => ({ ...row, collection }));
      const kept = s.refused.filter((r) => !(r.collection === collection && rows.some((n) => n.id === r.id)));
      return { refused: [...kept, ...added].slice(-REFUSALS_KEPT) };
    }),
  dismissRefused: (collection, id) =>
    set((s) => ({ refused: s.refused.filter((r) => !(r.collection === collection && r.id === id)) })),
  resetSync: () => set({ sync: initialSync, refused: [] }),
}));

/** Online = the browser thinks so and the last request did reach the server. */
export function isOnline(state: Pick<UiState, 'browserOnline' | 'sync'>): boolean {
  return state.browserOnline && state.sync.reachable !== false;
}

/**
 * What the user reads about a refused write: the server's own sentence for it (a state machine's or
 * a workflow's) in their language, else the sentence of its error code, else the server's message.
 */
export function refusalSentence(row: RefusedWrite, lang: Language): string {
  const specific = row.sentence?.[lang];
  if (specific) return specific;
  if (isErrorCode(row.code)) return errorSentence(row.code, lang);
  return row.message;
}
