/**
 * `npm run bench -- sync-load` → bench/results/sync-load.json
 *
 * 100 simulated clients against two sync-server instances (separate Node processes, as in
 * production) on one throw-away PostgreSQL, for a bounded time (BENCH_SYNC_LOAD_SECONDS, default
 * 20) and a bounded count (BENCH_SYNC_LOAD_MAX_DOCS per client). Each client is a loop of real HTTP
 * requests (fetch, keep-alive) through the replication contract (domain/src/replication.ts): push a
 * batch of new and edited cases (edits carry the pulled master as `assumedMasterState`), then pull
 * one page from its checkpoint. Half the clients talk to each instance. Ten of them also hold the
 * live stream (SSE) open, five per instance, so a push accepted on one instance reaches a stream on
 * the other only through PostgreSQL LISTEN/NOTIFY.
 *
 * Figures: accepted docs/s, push and pull latency (p50/p99), live-change latency from the push's
 * acknowledgement on one client to the document arriving on another client's stream (p50/p99, all
 * and across instances), and `ratio` = accepted docs/s ÷ a raw batched INSERT of the very same
 * accepted payloads, in the same batches and order, into a plain (id, jsonb) table on the same
 * PostgreSQL, measured in the same run after the load.
 *
 * What bounds throughput is measured rather than guessed: each instance times every SQL statement
 * it sends and every wait for a pooled connection (by patching pg's Client.query and Pool.connect
 * inside the instance process; the server code is untouched) and reports its CPU time;
 * PostgreSQL's CPU time is read from /proc.
 *
 * What bounded it (run of 2026-11-23, 2 cores, results in bench/results/sync-load.json):
 * - Pushes to one collection are serialised across every instance: pushCases
 *   (sync-server/src/replication/cases.ts) takes the collection's advisory lock first
 *   (clock.ts → lockCollection, which keeps stamps in commit order) and holds it for the whole
 *   transaction. The lock was held ~97% of the wall time, so adding clients or instances only
 *   adds queueing: push latency grows, throughput does not (separate runs: 20 clients ~600 docs/s
 *   at push p50 ~0.3 s; 100 clients ~430 docs/s at p50 ~1.4 s; 100 clients on one instance ~500).
 * - Inside the lock the work is per-row round trips: for a new case, a tracking-code lookup,
 *   three reference lookups (template, branch, merchant), the INSERT, the audit INSERT — ~5
 *   statements per row, ~52 per 10-row push at ~0.4 ms each on loopback ≈ 22 ms per push. That
 *   sets the ceiling (`serialCeilingDocsPerSecond`), and the measured rate sits at it. CPU is not
 *   the bound (about half the machine busy: instances, PostgreSQL and clients together).
 *   The raw baseline writes the same payloads with one statement per batch, hence the ratio.
 * - Live changes lag under this load (p50 in seconds, all delivered, none lost): the change hub
 *   (stream.ts) handles notices one at a time, each costs two queries per streaming user, and
 *   they go through the same 10-connection pool where pushes sit holding a connection while they
 *   wait for the collection lock (`poolConnectionWait`). Pulls queue there too.
 * What would lift it (server changes, not made here): one query per push for the reference and
 * tracking-code checks (`= ANY($1)`), multi-row INSERTs of cases and audit rows (unnest), doing
 * the checks that need no lock before taking the collection lock, waiting for that lock before
 * checking out a pooled connection, and a connection of its own for the change hub.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  API_ROUTES,
  PULL_BATCH_MAX,
  allowedCaseTransitions,
  formatTrackingCode,
  jalaliYearOf,
  newId,
  type AuthSession,
  type CaseDoc,
  type CaseStatus,
  type PullResponse,
  type PushResponse,
  type ReplicationCheckpoint,
  type StreamMessage,
  type WireDoc,
} from '@emdad/domain';
import { BRANCH_IDS, MERCHANT_IDS, TEMPLATE_IDS, demoUsers } from '@emdad/fixtures';
import { quantile, startBenchPostgres, writeResult } from './_support.ts';

const CLIENTS = Number(process.env.BENCH_SYNC_LOAD_CLIENTS ?? 100);
const DURATION_MS = Number(process.env.BENCH_SYNC_LOAD_SECONDS ?? 20) * 1000;
const MAX_DOCS_PER_CLIENT = Number(process.env.BENCH_SYNC_LOAD_MAX_DOCS ?? 5000);
const PUSH_BATCH = Number(process.env.BENCH_SYNC_LOAD_BATCH ?? 10);
const INSTANCES = Number(process.env.BENCH_SYNC_LOAD_INSTANCES ?? 2);
const STREAM_CLIENTS = Math.min(CLIENTS, 10);
/** Share of pushed rows that edit one of the client's own pulled cases (the rest are new cases). */
const EDIT_SHARE = 0.3;
const PULL_LIMIT = PULL_BATCH_MAX;

// ───────────────────────────── instance process ─────────────────────────────

interface StatementStat {
  calls: number;
  ms: number;
}
interface InstanceStats {
  cpuMs: number;
  /** From a pg_advisory_xact_lock returning to the COMMIT/ROLLBACK of the same connection: the serialised part. */
  lockHeld: { transactions: number; ms: number; statements: number };
  /** How long each request waited for one of the pool's connections (pushes, pulls, stream deliveries). */
  poolWaitMs: number[];
  wallMs: number;
  statements: Record<string, StatementStat>;
}
type ParentMessage = { type: 'reset' } | { type: 'stats' } | { type: 'stop' };
type ChildMessage = { type: 'ready'; url: string } | { type: 'stats'; stats: InstanceStats };

/** SQL text → a short key: whitespace collapsed, the first 90 characters. */
function statementKey(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 90);
}

async function runInstance(): Promise<void> {
  const statements = new Map<string, StatementStat>();
  const lockHeld = { transactions: 0, ms: 0, statements: 0 };
  /** Per connection: when it got a collection lock, and the statements it sent holding it. */
  const holding = new WeakMap<object, { since: number; statements: number }>();
  const record = (key: string, start: number, client: object) => {
    const end = performance.now();
    const s = statements.get(key) ?? { calls: 0, ms: 0 };
    s.calls += 1;
    s.ms += end - start;
    statements.set(key, s);
    const held = holding.get(client);
    if (key.includes('pg_advisory_xact_lock')) holding.set(client, { since: end, statements: 0 });
    else if (held && (key === 'COMMIT' || key === 'ROLLBACK')) {
      lockHeld.transactions += 1;
      lockHeld.ms += end - held.since;
      lockHeld.statements += held.statements;
      holding.delete(client);
    } else if (held) held.statements += 1;
  };
  // Times every statement the server sends (Pool.query passes a callback, transactions await a promise).
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: object, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    const key = statementKey(text);
    const start = performance.now();
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (...cbArgs: unknown[]) => {
        record(key, start, this);
        return (last as (...a: unknown[]) => unknown)(...cbArgs);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function')
      (result as Promise<unknown>).then(
        () => record(key, start, this),
        () => record(key, start, this),
      );
    return result;
  };

  // Times how long each checkout of a pooled connection waits (Pool.query checks out with a callback).
  const poolWaitMs: number[] = [];
  const poolProto = pg.Pool.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const originalConnect = poolProto.connect;
  poolProto.connect = function (this: object, ...args: unknown[]) {
    const start = performance.now();
    const callback = args[0];
    if (typeof callback === 'function')
      return originalConnect.call(this, (...result: unknown[]) => {
        poolWaitMs.push(performance.now() - start);
        return (callback as (...a: unknown[]) => unknown)(...result);
      });
    const result = originalConnect.apply(this, args) as Promise<unknown>;
    result.then(
      () => poolWaitMs.push(performance.now() - start),
      () => undefined,
    );
    return result;
  };

  const { createSyncServer } = await import('@emdad/sync-server/server');
  const url = process.env.BENCH_PG_URL;
  if (!url) throw new Error('BENCH_PG_URL is not set');
  const server = await createSyncServer({
    database: { kind: 'postgres', url },
    seed: process.env.BENCH_SEED === 'demo' ? 'demo' : false,
    rendererDist: false,
    loginRateLimitPerMinute: 100_000,
  });
  const address = await server.app.listen({ host: '127.0.0.1', port: 0 });
  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'reset') {
      statements.clear();
      Object.assign(lockHeld, { transactions: 0, ms: 0, statements: 0 });
      poolWaitMs.length = 0;
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
    }
    if (message.type === 'reset' || message.type === 'stats') {
      const cpu = process.cpuUsage(cpuStart);
      const reply: ChildMessage = {
        type: 'stats',
        stats: {
          cpuMs: (cpu.user + cpu.system) / 1000,
          lockHeld: { ...lockHeld },
          poolWaitMs: [...poolWaitMs],
          wallMs: performance.now() - wallStart,
          statements: Object.fromEntries(statements),
        },
      };
      process.send?.(reply);
    } else if (message.type === 'stop') {
      void server.close().finally(() => process.exit(0));
    }
  });
  const ready: ChildMessage = { type: 'ready', url: address };
  process.send?.(ready);
}

interface Instance {
  child: ChildProcess;
  url: string;
  request<T extends ChildMessage['type']>(
    message: ParentMessage,
    answer: T,
  ): Promise<Extract<ChildMessage, { type: T }>>;
}

async function startInstance(pgUrl: string, seed: boolean): Promise<Instance> {
  const child = fork(fileURLToPath(import.meta.url), ['--instance'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_PG_URL: pgUrl, BENCH_SEED: seed ? 'demo' : 'none' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waitFor = <T extends ChildMessage['type']>(type: T) =>
    new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<ChildMessage, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`sync-server instance exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { url } = await waitFor('ready');
  return {
    child,
    url,
    request(message, answer) {
      const reply = waitFor(answer);
      child.send(message);
      return reply;
    },
  };
}

async function stopInstance(instance: Instance): Promise<void> {
  if (instance.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => instance.child.once('exit', () => resolve()));
  instance.child.send({ type: 'stop' } satisfies ParentMessage);
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

// ───────────────────────────── PostgreSQL CPU ─────────────────────────────

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU ms of the postmaster and its children (backends, walwriter, …) by pid, from /proc. */
function postgresCpuByPid(postmasterPid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which is in parentheses and may hold spaces).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(entry);
      const ppid = Number(fields[1]);
      if (pid !== postmasterPid && ppid !== postmasterPid) continue;
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      out.set(pid, (ticks * 1000) / CLOCK_TICKS_PER_SECOND);
    } catch {
      // the process ended while we read
    }
  }
  return out;
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

// ───────────────────────────── simulated clients ─────────────────────────────

const password = (username: string) => demoUsers.find((u) => u.username === username)!.password;

/** Who the clients sign in as, round-robin, and what their cases look like. */
const PROFILES = [
  {
    username: 'branch1',
    channel: 'walk_in',
    branchId: BRANCH_IDS.tehranVanak,
    merchantId: MERCHANT_IDS.tehranSupermarket,
  },
  {
    username: 'branch2',
    channel: 'walk_in',
    branchId: BRANCH_IDS.isfahanChaharbagh,
    merchantId: MERCHANT_IDS.isfahanSupermarket,
  },
  {
    username: 'tech1',
    channel: 'field',
    branchId: BRANCH_IDS.tehranVanak,
    merchantId: MERCHANT_IDS.tehranPharmacy,
  },
  {
    username: 'tech2',
    channel: 'field',
    branchId: BRANCH_IDS.isfahanChaharbagh,
    merchantId: MERCHANT_IDS.isfahanHandicrafts,
  },
  {
    username: 'tech3',
    channel: 'field',
    branchId: BRANCH_IDS.isfahanChaharbagh,
    merchantId: MERCHANT_IDS.isfahanHandicrafts,
  },
] as const;
type Profile = (typeof PROFILES)[number];

interface SimClient {
  index: number;
  profile: Profile;
  instance: number;
  url: string;
  session: AuthSession;
  seq: number;
  pushedDocs: number;
  checkpoint: ReplicationCheckpoint | null;
  /** Own cases whose current server version this client has pulled (editable without a conflict). */
  editable: Map<string, WireDoc<CaseDoc>>;
  own: Set<string>;
  stream?: { abort: AbortController; done: Promise<void> };
}

interface Ack {
  pusher: number;
  instance: number;
  sentAt: number;
  ackAt: number;
}

const metrics = {
  pushLatencyMs: [] as number[],
  pullLatencyMs: [] as number[],
  pushes: 0,
  pulls: 0,
  acceptedDocs: 0,
  newDocs: 0,
  editedDocs: 0,
  conflicts: 0,
  refused: [] as string[],
  pulledDocs: 0,
  /** `${id}|${updatedAt}` of each accepted version → when and by whom it was pushed. */
  acks: new Map<string, Ack>(),
  /** Per stream client: version key → first arrival time. */
  arrivals: new Map<number, Map<string, number>>(),
  /** Accepted payloads in acknowledgement order, batch by batch (replayed raw afterwards). */
  acceptedBatches: [] as string[][],
};

/** A small deterministic PRNG (mulberry32), so runs push the same mix. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function login(url: string, username: string, label: string): Promise<AuthSession> {
  const res = await fetch(url + API_ROUTES.login, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      username,
      password: password(username),
      installId: newId(),
      installLabel: label,
    }),
  });
  if (!res.ok) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  return (await res.json()) as AuthSession;
}

const versionKey = (doc: { id: string; updatedAt: string }) => `${doc.id}|${doc.updatedAt}`;

function laterIso(previous: string): string {
  const now = Date.now();
  const prev = Date.parse(previous);
  return new Date(Math.max(now, prev + 1)).toISOString();
}

function newCase(client: SimClient): CaseDoc & { _deleted: boolean } {
  client.seq += 1;
  const now = new Date().toISOString();
  return {
    id: newId(),
    trackingCode: formatTrackingCode(
      client.session.install.trackingPrefix,
      jalaliYearOf(new Date()),
      client.seq,
    ),
    templateId: TEMPLATE_IDS.posNoPrint,
    channel: client.profile.channel,
    status: 'new',
    priority: 'normal',
    merchantId: client.profile.merchantId,
    equipmentId: null,
    branchId: client.profile.branchId,
    subject: `کارتخوان چاپ نمی‌کند ${client.index}-${client.seq}`,
    description: 'کاغذ در چاپگر گیر کرده و دستگاه پیام خطای چاپ می‌دهد. مشتری درخواست بازدید دارد.',
    reporterName: 'رضا احمدی',
    reporterPhone: '09121234567',
    createdBy: client.session.user.id,
    assigneeId: null,
    createdAt: now,
    updatedAt: now,
    _deleted: false,
  };
}

const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

/** The next version of a pulled case: a status move the state machine allows (never to closed), a priority, a note. */
function editedCase(master: WireDoc<CaseDoc>, random: () => number): WireDoc<CaseDoc> {
  const moves = allowedCaseTransitions(master.status).filter((s): s is CaseStatus => s !== 'closed');
  const status =
    random() < 0.5 && moves.length > 0 ? moves[Math.floor(random() * moves.length)]! : master.status;
  return {
    ...master,
    status,
    priority: PRIORITIES[Math.floor(random() * PRIORITIES.length)]!,
    description: `${master.description.slice(0, 3000)} — پیگیری ${new Date().toISOString()}`,
    updatedAt: laterIso(master.updatedAt),
  };
}

async function pushBatch(client: SimClient, random: () => number): Promise<void> {
  const rows: { newDocumentState: WireDoc<CaseDoc>; assumedMasterState: WireDoc<CaseDoc> | null }[] = [];
  for (let i = 0; i < PUSH_BATCH; i++) {
    const pick = random() < EDIT_SHARE ? client.editable.keys().next() : undefined;
    const master = pick && !pick.done ? client.editable.get(pick.value) : undefined;
    if (master) {
      // Not editable again until the pull brings back the version the server stores.
      client.editable.delete(master.id);
      rows.push({ newDocumentState: editedCase(master, random), assumedMasterState: master });
    } else {
      const doc = newCase(client);
      client.own.add(doc.id);
      rows.push({ newDocumentState: doc, assumedMasterState: null });
    }
  }
  const payloads = rows.map((r) => JSON.stringify(r.newDocumentState));
  const sentAt = performance.now();
  const res = await fetch(client.url + API_ROUTES.replicationPush.replace(':collection', 'cases'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${client.session.accessToken}` },
    body: `[${rows.map((r, i) => `{"newDocumentState":${payloads[i]},"assumedMasterState":${JSON.stringify(r.assumedMasterState)}}`).join(',')}]`,
  });
  const text = await res.text();
  const ackAt = performance.now();
  if (!res.ok) throw new Error(`push from client ${client.index}: ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as PushResponse<CaseDoc>;
  metrics.pushes += 1;
  metrics.pushLatencyMs.push(ackAt - sentAt);
  const rejected = new Set([...body.conflicts.map((d) => d.id), ...body.refused.map((r) => r.id)]);
  metrics.conflicts += body.conflicts.length;
  for (const r of body.refused) metrics.refused.push(`${r.code}: ${r.message}`);
  const accepted: string[] = [];
  rows.forEach((row, i) => {
    const doc = row.newDocumentState;
    if (rejected.has(doc.id)) return;
    accepted.push(payloads[i]!);
    metrics.acceptedDocs += 1;
    if (row.assumedMasterState) metrics.editedDocs += 1;
    else metrics.newDocs += 1;
    metrics.acks.set(versionKey(doc), { pusher: client.index, instance: client.instance, sentAt, ackAt });
  });
  if (accepted.length > 0) metrics.acceptedBatches.push(accepted);
  client.pushedDocs += rows.length;
}

async function pullPage(client: SimClient): Promise<void> {
  const params = new URLSearchParams({ limit: String(PULL_LIMIT) });
  if (client.checkpoint) {
    params.set('serverUpdatedAt', String(client.checkpoint.serverUpdatedAt));
    params.set('id', client.checkpoint.id);
  }
  const start = performance.now();
  const res = await fetch(
    `${client.url}${API_ROUTES.replicationPull.replace(':collection', 'cases')}?${params.toString()}`,
    { headers: { authorization: `Bearer ${client.session.accessToken}` } },
  );
  const text = await res.text();
  if (!res.ok) throw new Error(`pull from client ${client.index}: ${res.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as PullResponse<CaseDoc>;
  metrics.pulls += 1;
  metrics.pullLatencyMs.push(performance.now() - start);
  metrics.pulledDocs += body.documents.length;
  for (const doc of body.documents)
    if (client.own.has(doc.id) && !doc._deleted) client.editable.set(doc.id, doc);
  client.checkpoint = body.checkpoint ?? client.checkpoint;
}

/** Opens the client's live stream (SSE) and records when each document version first arrives. */
async function openStream(client: SimClient): Promise<void> {
  const abort = new AbortController();
  const arrivals = new Map<string, number>();
  metrics.arrivals.set(client.index, arrivals);
  const res = await fetch(client.url + API_ROUTES.replicationStream.replace(':collection', 'cases'), {
    headers: { authorization: `Bearer ${client.session.accessToken}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  if (!res.ok || !res.body) throw new Error(`stream for client ${client.index}: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let subscribed!: () => void;
  const resynced = new Promise<void>((resolve) => (subscribed = resolve));
  const done = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        const at = performance.now();
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const message = JSON.parse(line.slice(6)) as StreamMessage<CaseDoc>;
            if (message.type === 'RESYNC') subscribed();
            else
              for (const doc of message.documents)
                if (!arrivals.has(versionKey(doc))) arrivals.set(versionKey(doc), at);
          }
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  client.stream = { abort, done };
  await resynced;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

// ───────────────────────────── raw baseline ─────────────────────────────

/** The accepted payloads, same batches and order, as plain batched upserts into (id, jsonb); one connection. */
async function rawInsert(pgUrl: string, batches: readonly string[][]): Promise<number> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS bench_raw_cases');
    await client.query('CREATE TABLE bench_raw_cases (id text PRIMARY KEY, doc jsonb NOT NULL)');
    const start = performance.now();
    for (const batch of batches) {
      await client.query(
        `INSERT INTO bench_raw_cases (id, doc) SELECT x->>'id', x FROM jsonb_array_elements($1::jsonb) AS x
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`,
        [`[${batch.join(',')}]`],
      );
    }
    const ms = performance.now() - start;
    const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM bench_raw_cases');
    if (Number(count.rows[0]?.n) !== metrics.newDocs)
      throw new Error(`raw table holds ${count.rows[0]?.n} rows, expected ${metrics.newDocs}`);
    return ms;
  } finally {
    await client.end();
  }
}

// ───────────────────────────── main ─────────────────────────────

const round = (n: number | null, digits = 1) => (n === null ? null : Number(n.toFixed(digits)));
const latency = (values: readonly number[]) => ({
  samples: values.length,
  p50: round(quantile(values, 0.5)),
  p99: round(quantile(values, 0.99)),
  max: round(quantile(values, 1)),
});

async function main(): Promise<void> {
  const postgres = await startBenchPostgres();
  const instances: Instance[] = [];
  const clients: SimClient[] = [];
  try {
    // One at a time: the first migrates and seeds, the others find the schema in place.
    for (let i = 0; i < INSTANCES; i++) instances.push(await startInstance(postgres.url, i === 0));
    const probe = new pg.Client({ connectionString: postgres.url });
    await probe.connect();
    const backendPid = (await probe.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const postmasterPid = Number(
      readFileSync(`/proc/${backendPid}/stat`, 'utf8')
        .slice(readFileSync(`/proc/${backendPid}/stat`, 'utf8').lastIndexOf(')') + 2)
        .split(' ')[1],
    );
    const version = (await probe.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
      .rows[0]!.v;
    await probe.end();

    // Sign every client in once (each its own install), a few at a time: argon2 is deliberately slow.
    const specs = Array.from({ length: CLIENTS }, (_, index) => ({
      index,
      profile: PROFILES[index % PROFILES.length]!,
      instance: index % INSTANCES,
    }));
    const loginStart = performance.now();
    clients.push(
      ...(await inBatches(specs, 4, async (spec) => {
        const url = instances[spec.instance]!.url;
        const session = await login(url, spec.profile.username, `bench client ${spec.index}`);
        const client: SimClient = {
          ...spec,
          url,
          session,
          seq: 0,
          pushedDocs: 0,
          checkpoint: null,
          editable: new Map(),
          own: new Set(),
        };
        return client;
      })),
    );
    const loginMs = performance.now() - loginStart;
    // Streams on the first STREAM_CLIENTS clients: two per profile, one on each instance.
    await Promise.all(clients.slice(0, STREAM_CLIENTS).map(openStream));

    for (const instance of instances) await instance.request({ type: 'reset' }, 'stats');
    const cpuStart = process.cpuUsage();
    const pgCpuStart = postgresCpuByPid(postmasterPid);
    let stopped = false;
    const started = performance.now();
    const timer = setTimeout(() => (stopped = true), DURATION_MS);
    await Promise.all(
      clients.map(async (client) => {
        const random = prng(client.index + 1);
        while (!stopped && client.pushedDocs < MAX_DOCS_PER_CLIENT) {
          await pushBatch(client, random);
          await pullPage(client);
        }
      }),
    );
    const wallMs = performance.now() - started;
    clearTimeout(timer);
    const loadEnded = performance.now();
    const pgCpuMs = cpuDelta(pgCpuStart, postgresCpuByPid(postmasterPid));
    const clientCpu = process.cpuUsage(cpuStart);
    const instanceStats = await Promise.all(
      instances.map(async (instance) => (await instance.request({ type: 'stats' }, 'stats')).stats),
    );
    // The streams may lag behind the pushes: wait until nothing new arrives for 2 s (at most 90 s),
    // so a late delivery is told apart from one that never comes.
    const arrivalsSoFar = () => [...metrics.arrivals.values()].reduce((a, m) => a + m.size, 0);
    let quietSince = performance.now();
    let seen = arrivalsSoFar();
    while (performance.now() - quietSince < 2000 && performance.now() - loadEnded < 90_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = arrivalsSoFar();
      if (now !== seen) {
        seen = now;
        quietSince = performance.now();
      }
    }
    let lastArrival = loadEnded;
    for (const arrivals of metrics.arrivals.values())
      for (const at of arrivals.values()) lastArrival = Math.max(lastArrival, at);
    for (const client of clients) client.stream?.abort.abort();
    await Promise.all(clients.map((c) => c.stream?.done));

    // Live-change latency: every version a stream received that another client pushed and saw acknowledged.
    const fromAck: number[] = [];
    const fromAckCross: number[] = [];
    const fromSend: number[] = [];
    let arrivedBeforeAck = 0;
    for (const [streamer, arrivals] of metrics.arrivals) {
      const me = clients[streamer]!;
      for (const [key, at] of arrivals) {
        const ack = metrics.acks.get(key);
        if (!ack || ack.pusher === streamer) continue;
        if (at < ack.ackAt) arrivedBeforeAck += 1;
        const ms = Math.max(0, at - ack.ackAt);
        fromAck.push(ms);
        fromSend.push(at - ack.sentAt);
        if (ack.instance !== me.instance) fromAckCross.push(ms);
      }
    }
    // Every accepted version in a streamer's scope must have reached it: count what never arrived.
    // Only each document's last version counts: a version edited again before its notice was
    // delivered is legitimately skipped (the stream sends what the stamp holds when it reads it).
    const lastVersion = new Map<string, string>();
    for (const key of metrics.acks.keys()) lastVersion.set(key.slice(0, key.indexOf('|')), key);
    const isLast = (key: string) => lastVersion.get(key.slice(0, key.indexOf('|'))) === key;
    let expectedOnStreams = 0;
    let missingOnStreams = 0;
    for (const [streamer, arrivals] of metrics.arrivals) {
      const profile = clients[streamer]!.profile;
      const sees = (pusher: SimClient) =>
        pusher.profile.username === profile.username ||
        (profile.username.startsWith('branch') && pusher.profile.branchId === profile.branchId);
      for (const [key, ack] of metrics.acks) {
        if (ack.pusher === streamer || !isLast(key) || !sees(clients[ack.pusher]!)) continue;
        expectedOnStreams += 1;
        if (!arrivals.has(key)) missingOnStreams += 1;
      }
    }

    // The raw baseline, twice (the table is recreated), on the now idle cluster.
    const rawRuns = [
      await rawInsert(postgres.url, metrics.acceptedBatches),
      await rawInsert(postgres.url, metrics.acceptedBatches),
    ];
    const rawMs = rawRuns.reduce((a, b) => a + b, 0) / rawRuns.length;
    const rawDocsPerSecond = (metrics.acceptedDocs / rawMs) * 1000;
    const acceptedDocsPerSecond = (metrics.acceptedDocs / wallMs) * 1000;

    // Where the instances' database time went.
    const merged = new Map<string, StatementStat>();
    for (const stats of instanceStats)
      for (const [key, s] of Object.entries(stats.statements)) {
        const m = merged.get(key) ?? { calls: 0, ms: 0 };
        m.calls += s.calls;
        m.ms += s.ms;
        merged.set(key, m);
      }
    const totalStatementMs = [...merged.values()].reduce((a, s) => a + s.ms, 0);
    const totalStatements = [...merged.values()].reduce((a, s) => a + s.calls, 0);
    const topStatements = [...merged.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 12)
      .map(([sql, s]) => ({
        sql,
        calls: s.calls,
        callsPerAcceptedDoc: round(s.calls / Math.max(1, metrics.acceptedDocs), 2),
        ms: Math.round(s.ms),
        shareOfStatementTime: round(s.ms / totalStatementMs, 3),
      }));
    const lockStat = [...merged.entries()].find(([sql]) => sql.includes('pg_advisory_xact_lock'))?.[1];
    const held = instanceStats.reduce(
      (a, s) => ({
        transactions: a.transactions + s.lockHeld.transactions,
        ms: a.ms + s.lockHeld.ms,
        statements: a.statements + s.lockHeld.statements,
      }),
      { transactions: 0, ms: 0, statements: 0 },
    );
    const instanceCpuMs = instanceStats.reduce((a, s) => a + s.cpuMs, 0);
    const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
    const cores = (await import('node:os')).cpus().length;

    const pushP50 = quantile(metrics.pushLatencyMs, 0.5);
    const liveP50 = quantile(fromAck, 0.5);
    writeResult('sync-load', {
      ratio: Number((acceptedDocsPerSecond / rawDocsPerSecond).toFixed(4)),
      ratioMeaning:
        'accepted docs/s through the sync servers (100 clients, push + pull + streams, PostgreSQL) ÷ a raw batched INSERT … ON CONFLICT of the same accepted JSON payloads, same batches and order, one connection, into a plain (id text primary key, doc jsonb) table on the same PostgreSQL, measured after the load in the same run (mean of two runs)',
      setup: {
        clients: CLIENTS,
        instances: INSTANCES,
        clientsPerInstance: Array.from(
          { length: INSTANCES },
          (_, i) => clients.filter((c) => c.instance === i).length,
        ),
        users: PROFILES.map((p) => p.username),
        pushBatchRows: PUSH_BATCH,
        editShare: EDIT_SHARE,
        pullLimit: PULL_LIMIT,
        streams: STREAM_CLIENTS,
        boundSeconds: DURATION_MS / 1000,
        boundDocsPerClient: MAX_DOCS_PER_CLIENT,
        loop: 'closed loop, no think time: each client pushes a batch, then pulls one page from its checkpoint, until the time or count bound',
        loginSeconds: round(loginMs / 1000, 2),
        postgres: `PostgreSQL ${version}, throw-away cluster (fsync=off), loopback; each instance a separate Node process with a pool of 10`,
      },
      push: {
        requests: metrics.pushes,
        acceptedDocs: metrics.acceptedDocs,
        newDocs: metrics.newDocs,
        editedDocs: metrics.editedDocs,
        conflicts: metrics.conflicts,
        refused: metrics.refused.length,
        refusedExamples: [...new Set(metrics.refused)].slice(0, 3),
        acceptedDocsPerSecond: Math.round(acceptedDocsPerSecond),
        latencyMs: latency(metrics.pushLatencyMs),
      },
      pull: {
        requests: metrics.pulls,
        docs: metrics.pulledDocs,
        docsPerSecond: Math.round((metrics.pulledDocs / wallMs) * 1000),
        latencyMs: latency(metrics.pullLatencyMs),
      },
      liveChange: {
        note: 'from the pusher receiving its push acknowledgement to the version arriving on another client’s SSE stream (same process clock); a version that arrived before the acknowledgement counts as 0',
        latencyFromAckMs: latency(fromAck),
        acrossInstancesFromAckMs: latency(fromAckCross),
        latencyFromPushSendMs: latency(fromSend),
        arrivedBeforeAck,
        expectedOnStreams,
        missingOnStreams,
        streamsStillDeliveringSecondsAfterLoadEnded: round((lastArrival - loadEnded) / 1000, 2),
        liveP50ToPushP50Ratio: liveP50 !== null && pushP50 ? round(liveP50 / pushP50, 3) : null,
      },
      rawInsert: {
        rows: metrics.acceptedDocs,
        batches: metrics.acceptedBatches.length,
        docsPerSecond: Math.round(rawDocsPerSecond),
        runsDocsPerSecond: rawRuns.map((ms) => Math.round((metrics.acceptedDocs / ms) * 1000)),
      },
      bounds: {
        wallSeconds: round(wallMs / 1000, 2),
        cpuCoresOfMachine: cores,
        cpuCoresBusy: {
          note: 'CPU time ÷ wall time of the load window, per part (the machine is shared, so other work may also compete)',
          syncServerInstances: round(instanceCpuMs / wallMs, 2),
          postgres: round(pgCpuMs / wallMs, 2),
          simulatedClients: round(clientCpuMs / wallMs, 2),
        },
        statementsPerAcceptedDoc: round(totalStatements / Math.max(1, metrics.acceptedDocs), 2),
        advisoryLockWait: lockStat
          ? {
              note: 'time the instances spent waiting in pg_advisory_xact_lock (one lock per collection serialises every cases push on both instances)',
              calls: lockStat.calls,
              ms: Math.round(lockStat.ms),
              shareOfStatementTime: round(lockStat.ms / totalStatementMs, 3),
            }
          : null,
        collectionLockHeld: {
          note: 'from pg_advisory_xact_lock returning to COMMIT on the same connection, summed over both instances: the serialised part of every push (and scope-change write); share near 1 means one push at a time was the bound',
          transactions: held.transactions,
          msPerTransaction: round(held.ms / Math.max(1, held.transactions), 2),
          statementsPerTransaction: round(held.statements / Math.max(1, held.transactions), 1),
          msPerStatementHoldingLock: round(held.ms / Math.max(1, held.statements), 3),
          shareOfWall: round(held.ms / wallMs, 3),
          serialCeilingDocsPerSecond: Math.round(
            ((metrics.acceptedDocs / Math.max(1, held.transactions)) * 1000) /
              Math.max(0.001, held.ms / Math.max(1, held.transactions)),
          ),
          acceptedToCeilingRatio: round(
            acceptedDocsPerSecond /
              (((metrics.acceptedDocs / Math.max(1, held.transactions)) * 1000) /
                Math.max(0.001, held.ms / Math.max(1, held.transactions))),
            3,
          ),
        },
        poolConnectionWait: {
          note: 'time a request waited for a connection of its instance’s pg pool (10 each): pushes keep theirs while queued on the collection lock, so pulls and live-stream deliveries queue behind them',
          ...latency(instanceStats.flatMap((s) => s.poolWaitMs)),
        },
        topStatements,
      },
    });
  } finally {
    for (const client of clients) client.stream?.abort.abort();
    await Promise.all(instances.map(stopInstance));
    await postgres.stop();
  }
}

if (process.argv.includes('--instance')) await runInstance();
else await main();
