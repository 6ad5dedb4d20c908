/**
 * Everything that lives as long as one user's session: their database, the replication of every
 * collection (user-session.ts, which closes the previous user's session before this one opens) and
 * the cached reference data (GET /api/reference, kept in the user database for offline use).
 */
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { API_ROUTES, type ReferenceData } from '@emdad/domain';
import type { SessionState } from '../auth/auth-service.ts';
import type { UserDatabase } from '../db/database.ts';
import type { UserReplication } from '../sync/user-replication.ts';
import { useUiStore } from '../ui/store.ts';
import { UserContext, useServices, type UserContextValue } from './services.ts';
import { openUserSession, SessionClosedError } from './user-session.ts';

const REFERENCE_DOC = 'reference';

interface Opened {
  userDb: UserDatabase;
  replication: UserReplication | null;
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
    const ui = useUiStore.getState();
    const userSession = openUserSession({
      userId,
      online,
      serverUrl,
      auth: { getAccessToken: () => auth.getAccessToken(), refresh: () => auth.refresh() },
      onStatus: (status) => useUiStore.getState().setSync(status),
      onRefused: (collection, rows) => useUiStore.getState().addRefused(collection, rows),
    });
    (async () => {
      const { db, replication } = await userSession.ready;
      if (cancelled) return;
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
      if (err instanceof SessionClosedError || cancelled) return;
      console.error('could not open the user database', err);
      setFailed(true);
    });
    return () => {
      cancelled = true;
      ui.resetSync();
      setOpened(null);
      void userSession.close();
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
