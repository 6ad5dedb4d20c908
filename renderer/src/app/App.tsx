import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { createHashRouter, NavLink, Outlet } from 'react-router';
import { RouterProvider } from 'react-router/dom';
import type { SessionState } from '../auth/auth-service.ts';
import { CaseCreatedPage } from '../cases/CaseCreatedPage.tsx';
import { CaseListPage } from '../cases/CaseListPage.tsx';
import { NewCasePage } from '../cases/NewCasePage.tsx';
import { DevicePanel } from '../device/DevicePanel.tsx';
import { useUiStore } from '../ui/store.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { LoginPage } from './LoginPage.tsx';
import { ServicesContext, useServices, type AppServices } from './services.ts';
import { RefusalsPanel } from './RefusalsPanel.tsx';
import { SyncStatusBar } from './SyncStatusBar.tsx';
import { UserSessionProvider } from './UserSessionProvider.tsx';
import { useLanguage } from './hooks.ts';

function useSession(): SessionState | null | undefined {
  const { auth } = useServices();
  const [session, setSession] = useState<SessionState | null | undefined>(undefined);
  useEffect(() => {
    const sub = auth.session$().subscribe(setSession);
    return () => sub.unsubscribe();
  }, [auth]);
  return session;
}

function Shell({ session }: { session: SessionState }) {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { auth } = useServices();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className="top">
        <strong className="brand">{t('app.title')}</strong>
        <nav aria-label={t('app.title')}>
          <NavLink to="/" end data-testid="nav-cases">
            {t('nav.cases')}
          </NavLink>
          <NavLink to="/cases/new" data-testid="nav-new-case">
            {t('nav.newCase')}
          </NavLink>
        </nav>
        <div className="top-end">
          <span className="user" data-testid="current-user">
            {session.user.displayName[lang]}
          </span>
          <LanguageSwitch />
          <button type="button" className="link-button" onClick={() => void auth.logout()}>
            {t('nav.logout')}
          </button>
        </div>
      </header>
      <SyncStatusBar />
      <RefusalsPanel />
      <div className="body">
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
        <DevicePanel />
      </div>
    </div>
  );
}

function Root() {
  const session = useSession();
  // Re-render on language change so every screen follows it.
  useUiStore((s) => s.lang);
  if (session === undefined) return null;
  if (!session) return <LoginPage />;
  return (
    <UserSessionProvider session={session}>
      <Shell session={session} />
    </UserSessionProvider>
  );
}

const router = createHashRouter([
  {
    path: '/',
    element: <Root />,
    children: [
      { index: true, element: <CaseListPage /> },
      { path: 'cases/new', element: <NewCasePage /> },
      { path: 'cases/:id/created', element: <CaseCreatedPage /> },
      { path: '*', element: <CaseListPage /> },
    ],
  },
]);

export function App({ services }: { services: AppServices }) {
  return (
    <ServicesContext.Provider value={services}>
      <RouterProvider router={router} />
    </ServicesContext.Provider>
  );
}
