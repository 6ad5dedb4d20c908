/**
 * Everything that lives as long as one user's session: their database, the case replication and
 * the cached reference data (GET /api/reference, kept in the user database for offline use).
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { API_ROUTES, type ReferenceData } from '@emdad/domain';
import type { SessionState } from '../auth/auth-service.ts';
import { openUserDatabase, type UserDatabase } from '../db/database.ts';
import { startCaseReplication, type CaseReplication } from '../sync/case-replication.ts';
import { useUiStore } from '../ui/store.ts';
import { UserContext, useServices, type UserContextValue } from './services.ts';

const REFERENCE_DOC = 'reference';

interface Opened {
  userDb: UserDatabase;
  replication: CaseReplication | null;
  reference: ReferenceData | null;
}

export function UserSessionProvider({ session, children }: { session: SessionState; children: ReactNode }) {
  const { auth, serverUrl } = useServices();
  const [opened, setOpened] = useState<Opened | null>(null);
  const [failed, setFailed] = useState(false);
  const { t } = useTranslation();
  const userId = session.user.id;
  const online = session.mode === 'online';

  useEffect(() => {
    let cancelled = false;
    let db: UserDatabase | null = null;
    let replication: CaseReplication | null = null;
    const ui = useUiStore.getState();
    (async () => {
      db = await openUserDatabase(userId);
      if (cancelled) return;
      if (online) {
        replication = startCaseReplication({
          collection: db.cases,
          serverUrl,
          auth: { getAccessToken: () => auth.getAccessToken(), refresh: () => auth.refresh() },
          onStatus: (status) => useUiStore.getState().setSync(status),
          onRefused: (rows) => useUiStore.getState().addRefused(rows),
        });
      }
      const cached = await db.getLocal<ReferenceData>(REFERENCE_DOC);
      if (cancelled) return;
      setOpened({
        userDb: db,
        replication,
        reference: cached ? (cached.toJSON().data as ReferenceData) : null,
      });
      if (online) {
        try {
          const res = await auth.fetchWithAuth(API_ROUTES.reference);
          const reference = (await res.json()) as ReferenceData;
          if (cancelled) return;
          await db.upsertLocal(REFERENCE_DOC, reference);
          setOpened((o) => (o ? { ...o, reference } : o));
        } catch {
          // Offline or refused: the cached copy (if any) stays; the sync bar reports the network.
        }
      }
    })().catch((err: unknown) => {
      console.error('could not open the user database', err);
      if (!cancelled) setFailed(true);
    });
    return () => {
      cancelled = true;
      ui.resetSync();
      void (async () => {
        await replication?.stop();
        await db?.close();
      })();
    };
  }, [userId, online, auth, serverUrl]);

  const value = useMemo<UserContextValue | null>(
    () => (opened ? { session, ...opened } : null),
    [opened, session],
  );
  if (failed) {
    return (
      <p className="form-error" role="alert">
        {t('app.storageFailed')}
      </p>
    );
  }
  if (!value) return null;
  return <UserContext.Provider value={value}>{children}</UserContext.Provider>;
}
