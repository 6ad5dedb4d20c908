/**
 * Shared helpers for the server's tests (not shipped code paths): the database backends a suite runs
 * against, a controllable clock, and small clients over `app.inject`.
 */
import { randomUUID } from 'node:crypto';
import {
  formatTrackingCode,
  type AuthSession,
  type CaseDoc,
  type PullResponse,
  type PushResponse,
  type PushRow,
  type WireDoc,
} from '@emdad/domain';
import { BRANCH_IDS, TEMPLATE_IDS, demoUser } from '@emdad/fixtures';
import type { FastifyInstance } from 'fastify';
import type { DatabaseOptions } from './db/index.ts';

interface PostgresSupport {
  createDatabase(baseUrl: string, name: string): Promise<string>;
}

// tests/support lives outside this package's TypeScript project, so it is loaded by URL at run time.
async function postgresSupport(): Promise<PostgresSupport> {
  const url = new URL('../../tests/support/postgres.ts', import.meta.url).href;
  return (await import(/* @vite-ignore */ url)) as PostgresSupport;
}

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database for one server (or several sharing it). */
  freshDatabase(label: string): Promise<DatabaseOptions>;
}

/** PGlite (in memory) always; a real PostgreSQL too when the global setup started one. */
export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite', freshDatabase: async () => ({ kind: 'pglite' }) }];
  const baseUrl = process.env.EMDAD_TEST_DATABASE_URL;
  if (baseUrl) {
    list.push({
      name: 'postgres',
      async freshDatabase(label) {
        const { createDatabase } = await postgresSupport();
        const name = `emdad_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
        return { kind: 'postgres', url: await createDatabase(baseUrl, name) };
      },
    });
  }
  return list;
}

/** A clock tests move by hand. */
export function manualClock(start = Date.parse('2026-11-23T08:00:00.000Z')): {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
} {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

export const bearer = (session: { accessToken: string }) => ({
  authorization: `Bearer ${session.accessToken}`,
});

export async function login(
  app: FastifyInstance,
  username: string,
  installId = `install-${username}-${randomUUID().slice(0, 8)}`,
): Promise<AuthSession> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password: demoUser(username).password, installId },
  });
  if (response.statusCode !== 200)
    throw new Error(`login ${username} failed: ${response.statusCode} ${response.body}`);
  return response.json<AuthSession>();
}

let sequence = 0;
/** A valid new case created by the session's user, with a tracking code from its install's prefix. */
export function newCase(session: AuthSession, overrides: Partial<CaseDoc> = {}): WireDoc<CaseDoc> {
  sequence += 1;
  const at = new Date(Date.UTC(2026, 10, 23, 8, 0, sequence % 60, sequence % 1000)).toISOString();
  return {
    id: randomUUID(),
    trackingCode: formatTrackingCode(session.install.trackingPrefix, 1405, sequence),
    templateId: TEMPLATE_IDS.posNoPrint,
    channel: 'walk_in',
    status: 'new',
    priority: 'high',
    merchantId: 'mer-001',
    equipmentId: 'eq-001-pos',
    branchId: session.user.branchId ?? BRANCH_IDS.tehranVanak,
    subject: 'کارت‌خوان رسید چاپ نمی‌کند',
    description: 'The POS prints blank receipts since this morning.',
    reporterName: 'آقای محمدی',
    reporterPhone: '09121234567',
    createdBy: session.user.id,
    assigneeId: null,
    createdAt: at,
    updatedAt: at,
    _deleted: false,
    ...overrides,
  };
}

/** The next local version of a case, as a client would push it after an edit. */
export function edited(
  doc: WireDoc<CaseDoc>,
  changes: Partial<CaseDoc>,
  updatedAt = new Date(Date.parse(doc.updatedAt) + 60_000).toISOString(),
): WireDoc<CaseDoc> {
  return { ...doc, ...changes, updatedAt };
}

export async function push(app: FastifyInstance, session: AuthSession, rows: PushRow<CaseDoc>[]) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/replication/cases/push',
    headers: bearer(session),
    payload: rows,
  });
  return {
    status: response.statusCode,
    body: response.json<PushResponse<CaseDoc> & { error?: { code: string; message: string } }>(),
  };
}

export async function pull(
  app: FastifyInstance,
  session: AuthSession,
  checkpoint: { serverUpdatedAt: number; id: string } | null,
  limit = 100,
) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (checkpoint) {
    query.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
    query.set('id', checkpoint.id);
  }
  const response = await app.inject({
    method: 'GET',
    url: `/api/replication/cases/pull?${query}`,
    headers: bearer(session),
  });
  if (response.statusCode !== 200) throw new Error(`pull failed: ${response.statusCode} ${response.body}`);
  return response.json<PullResponse<CaseDoc>>();
}

/** Pulls everything visible, page by page, from the beginning. */
export async function pullAll(
  app: FastifyInstance,
  session: AuthSession,
  limit = 100,
): Promise<{ documents: WireDoc<CaseDoc>[]; pages: number }> {
  const documents: WireDoc<CaseDoc>[] = [];
  let checkpoint: { serverUpdatedAt: number; id: string } | null = null;
  for (let pages = 1; pages < 10_000; pages++) {
    const page = await pull(app, session, checkpoint, limit);
    documents.push(...page.documents);
    if (page.documents.length < limit) return { documents, pages };
    checkpoint = page.checkpoint;
  }
  throw new Error('pull did not end');
}

export async function getCaseById(app: FastifyInstance, session: AuthSession, id: string) {
  const response = await app.inject({
    method: 'GET',
    url: `/api/cases/${encodeURIComponent(id)}`,
    headers: bearer(session),
  });
  return {
    status: response.statusCode,
    body: response.json<WireDoc<CaseDoc> & { error?: { code: string } }>(),
  };
}

type AnyDoc = Record<string, unknown> & { id: string; serverUpdatedAt?: number | null; _deleted?: boolean };

/** Push rows to any collection; answers the status and body (refused rows carry code + message). */
export async function pushTo(
  app: FastifyInstance,
  session: AuthSession,
  collection: string,
  rows: unknown[],
) {
  const response = await app.inject({
    method: 'POST',
    url: `/api/replication/${collection}/push`,
    headers: bearer(session),
    payload: rows,
  });
  return {
    status: response.statusCode,
    body: response.json<PushResponse<AnyDoc> & { error?: { code: string; message: string } }>(),
  };
}

/** One pull page of any collection. */
export async function pullFrom(
  app: FastifyInstance,
  session: AuthSession,
  collection: string,
  checkpoint: { serverUpdatedAt: number; id: string } | null,
  limit = 100,
) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (checkpoint) {
    query.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
    query.set('id', checkpoint.id);
  }
  const response = await app.inject({
    method: 'GET',
    url: `/api/replication/${collection}/pull?${query}`,
    headers: bearer(session),
  });
  return {
    status: response.statusCode,
    body: response.json<PullResponse<AnyDoc> & { error?: { code: string } }>(),
  };
}

/** Pulls a collection to the end from `checkpoint`, page by page; answers the documents and the last checkpoint. */
export async function pullCollection(
  app: FastifyInstance,
  session: AuthSession,
  collection: string,
  from: { serverUpdatedAt: number; id: string } | null = null,
  limit = 100,
): Promise<{ documents: AnyDoc[]; checkpoint: { serverUpdatedAt: number; id: string } | null }> {
  const documents: AnyDoc[] = [];
  let checkpoint = from;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await pullFrom(app, session, collection, checkpoint, limit);
    if (page.status !== 200)
      throw new Error(`pull ${collection} failed: ${page.status} ${JSON.stringify(page.body)}`);
    documents.push(...page.body.documents);
    checkpoint = page.body.checkpoint;
    if (page.body.documents.length < limit) return { documents, checkpoint };
  }
  throw new Error('pull did not end');
}
