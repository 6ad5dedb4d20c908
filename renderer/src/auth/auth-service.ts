/**
 * Sign-in, token rotation and sign-out, against POST /api/auth/{login,refresh,logout}.
 *
 * - Online sign-in stores the AuthSession in the device database and refreshes the offline verifier.
 * - When the server cannot be reached at all, the offline verifier decides (offline-verifier.ts);
 *   a session opened that way has no tokens: the app works locally and the sync bar says to sign in
 *   online to sync.
 * - Refresh tokens rotate: concurrent callers share one refresh request, since a second use of the
 *   same refresh token would be refused.
 * - Sign-out forgets the session, never the unsynced cases (they stay in the user's database and
 *   sync at the next online sign-in).
 */
import { map, type Observable } from 'rxjs';
import { API_ROUTES, type AuthSession, type ErrorCode, type Result, type UserProfile } from '@emdad/domain';
import type { DeviceDatabase } from '../db/database.ts';
import {
  ApiError,
  apiErrorFromResponse,
  fetchOrNetworkError,
  joinUrl,
  type FetchLike,
} from '../sync/http.ts';
import {
  checkOfflineVerifier,
  createOfflineVerifier,
  normaliseUsername,
  type OfflineVerifier,
} from './offline-verifier.ts';

export interface InstallInfo {
  id: string;
  trackingPrefix: string;
}

export type SessionState =
  | { mode: 'online'; auth: AuthSession; user: UserProfile; install: InstallInfo }
  | { mode: 'offline'; user: UserProfile; install: InstallInfo };

const SESSION_DOC = 'session';
const INSTALL_ID_DOC = 'install-id';
const verifierDoc = (username: string) => `offline-login-${normaliseUsername(username)}`;

export type LoginResult = Result<SessionState, { code: ErrorCode; message: string }>;

export class AuthService {
  private refreshing: Promise<boolean> | null = null;
  private readonly fetchImpl: FetchLike;

  constructor(
    private readonly db: DeviceDatabase,
    readonly serverUrl: string,
    fetchImpl?: FetchLike,
  ) {
    this.fetchImpl = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The install's id: minted once, kept for the life of this browser profile / app data dir. */
  async installId(): Promise<string> {
    const existing = await this.db.getLocal<{ id: string }>(INSTALL_ID_DOC);
    if (existing) return existing.get('id') as string;
    try {
      await this.db.insertLocal(INSTALL_ID_DOC, { id: crypto.randomUUID() });
    } catch {
      // another tab minted it first
    }
    const doc = await this.db.getLocal<{ id: string }>(INSTALL_ID_DOC);
    return doc!.get('id') as string;
  }

  async currentSession(): Promise<SessionState | null> {
    const doc = await this.db.getLocal<SessionState>(SESSION_DOC);
    return doc ? (doc.toJSON().data as SessionState) : null;
  }

  session$(): Observable<SessionState | null> {
    return this.db
      .getLocal$<SessionState>(SESSION_DOC)
      .pipe(map((doc) => (doc ? (doc.toJSON().data as SessionState) : null)));
  }

  private async saveOnlineSession(auth: AuthSession): Promise<SessionState> {
    const session: SessionState = { mode: 'online', auth, user: auth.user, install: auth.install };
    await this.db.upsertLocal(SESSION_DOC, session);
    return session;
  }

  async login(username: string, password: string): Promise<LoginResult> {
    const installId = await this.installId();
    let res: Response;
    try {
      res = await fetchOrNetworkError(this.fetchImpl, joinUrl(this.serverUrl, API_ROUTES.login), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          username: username.trim(),
          password,
          installId,
          installLabel: installLabel(),
        }),
      });
    } catch (err) {
      if (err instanceof ApiError && err.isNetwork) return this.offlineLogin(username, password);
      throw err;
    }
    if (!res.ok) {
      const error = await apiErrorFromResponse(res);
      return { ok: false, error: { code: error.code, message: error.message } };
    }
    const auth = (await res.json()) as AuthSession;
    const session = await this.saveOnlineSession(auth);
    const verifier = await createOfflineVerifier({
      username,
      password,
      user: auth.user,
      install: auth.install,
    });
    await this.db.upsertLocal(verifierDoc(username), verifier);
    return { ok: true, value: session };
  }

  private async offlineLogin(username: string, password: string): Promise<LoginResult> {
    const doc = await this.db.getLocal<OfflineVerifier>(verifierDoc(username));
    const check = await checkOfflineVerifier(
      doc ? (doc.toJSON().data as OfflineVerifier) : null,
      username,
      password,
    );
    if (!check.ok) {
      const code: ErrorCode =
        check.reason === 'wrong_password' ? 'invalid_credentials' : 'offline_login_unavailable';
      return { ok: false, error: { code, message: `offline sign-in: ${check.reason}` } };
    }
    const session: SessionState = {
      mode: 'offline',
      user: check.verifier.user,
      install: check.verifier.install,
    };
    await this.db.upsertLocal(SESSION_DOC, session);
    return { ok: true, value: session };
  }

  async getAccessToken(): Promise<string | null> {
    const session = await this.currentSession();
    return session?.mode === 'online' ? session.auth.accessToken : null;
  }

  /** Rotates the tokens; false when the server refused (sign in again) or could not be reached. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const session = await this.currentSession();
    if (session?.mode !== 'online') return false;
    let res: Response;
    try {
      res = await fetchOrNetworkError(this.fetchImpl, joinUrl(this.serverUrl, API_ROUTES.refresh), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: session.auth.refreshToken }),
      });
    } catch {
      return false;
    }
    if (!res.ok) return false;
    const fresh = (await res.json()) as Partial<AuthSession>;
    if (!fresh.accessToken || !fresh.refreshToken) return false;
    await this.saveOnlineSession({ ...session.auth, ...fresh } as AuthSession);
    return true;
  }

  /** fetch with the access token, rotating it once on 401 token_expired. */
  async fetchWithAuth(path: string, init: RequestInit = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.getAccessToken();
      if (!token) throw new ApiError('unauthenticated', 401, 'no online session');
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      const res = await fetchOrNetworkError(this.fetchImpl, joinUrl(this.serverUrl, path), {
        ...init,
        headers,
      });
      if (res.ok) return res;
      const error = await apiErrorFromResponse(res);
      if (res.status === 401 && attempt === 0 && (await this.refresh())) continue;
      throw error;
    }
  }

  async logout(): Promise<void> {
    const session = await this.currentSession();
    if (session?.mode === 'online') {
      // Best effort: revoke the refresh token on the server; signing out works offline too.
      try {
        await fetchOrNetworkError(this.fetchImpl, joinUrl(this.serverUrl, API_ROUTES.logout), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${session.auth.accessToken}`,
          },
          body: JSON.stringify({ refreshToken: session.auth.refreshToken }),
        });
      } catch {
        // offline: the refresh token expires on its own
      }
    }
    const doc = await this.db.getLocal(SESSION_DOC);
    await doc?.remove();
  }
}

function installLabel(): string | undefined {
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  return ua ? ua.slice(0, 120) : undefined;
}
