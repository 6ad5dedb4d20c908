/** UI state only (zustand). Documents live in RxDB; this holds what the screens show about them. */
import { create } from 'zustand';
import type { Language, RefusedWrite } from '@emdad/domain';
import type { ReplicationStatus } from '../sync/case-replication.ts';

export interface UiState {
  lang: Language;
  browserOnline: boolean;
  sync: ReplicationStatus;
  /** Writes the server refused, newest last (kept for this page's life). */
  refused: RefusedWrite[];
  setLang(lang: Language): void;
  setBrowserOnline(online: boolean): void;
  setSync(status: ReplicationStatus): void;
  addRefused(rows: RefusedWrite[]): void;
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
  addRefused: (rows) =>
    set((s) => ({
      refused: [...s.refused.filter((r) => !rows.some((n) => n.id === r.id)), ...rows].slice(-20),
    })),
  resetSync: () => set({ sync: initialSync, refused: [] }),
}));

/** Online = the browser thinks so and the last request did reach the server. */
export function isOnline(state: Pick<UiState, 'browserOnline' | 'sync'>): boolean {
  return state.browserOnline && state.sync.reachable !== false;
}
