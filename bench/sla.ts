/**
 * `npm run bench -- sla` → bench/results/sla.json
 *
 * SLA recomputation of BENCH_SLA_CASES (default 100,000) open cases stored in a throw-away
 * PostgreSQL, by the server's own case engine (sync-server/src/engine/case-engine.ts →
 * `recomputeAll({ slaOnly: true })`): per batch of cases, one transaction that reads the cases and
 * their timelines (statuses, accepted event times, applied actions, hops) in a handful of queries,
 * evaluates every case with its region's business calendar (domain/src/sla), and writes the `sla`
 * of each case whose SLA changed through ServerWriter (stamp, row, audit) — as after a change of
 * targets or calendars. Routing, SLA events and escalations are left to the timer (slaOnly).
 *
 * The cases are what a running server holds: synthetic open cases (domain/src/sla/recompute.ts →
 * syntheticOpenCases: created over 20 days, most with a customer update, some waiting on the
 * customer) inserted with their timeline events and the engine's state of them (as intake left it).
 *
 * Figures, all from one run:
 * - `first`: the first recomputation (every case gets its SLA written): cases/s;
 * - `steady`: the same again right after (nothing crossed: reads and evaluation, no writes);
 * - `select`: one plain `SELECT doc FROM cases` of those open cases;
 * - `ratio` = first recomputation time ÷ the plain SELECT time.
 */
import { formatTrackingCode, prefixFromNumber } from '@emdad/domain';
import { syntheticOpenCases } from '@emdad/domain/sla/recompute';
import { MERCHANT_IDS, TEMPLATE_IDS, USER_IDS, equipment, merchants } from '@emdad/fixtures';
import { createSyncServer } from '@emdad/sync-server/server';
import { startBenchPostgres, writeResult } from './_support.ts';

const COUNT = Number(process.env.BENCH_SLA_CASES ?? 100_000);
const BATCH = Number(process.env.BENCH_SLA_BATCH ?? 500);
const INSERT_CHUNK = 2_000;
// Wednesday 2026-11-25 10:30 in Tehran: working time.
const NOW = Date.parse('2026-11-25T07:00:00.000Z');

async function main(): Promise<void> {
  const pg = await startBenchPostgres();
  const server = await createSyncServer({
    database: { kind: 'postgres', url: pg.url },
    seed: 'demo',
    now: () => NOW,
    rendererDist: false,
    engine: { slaTickMs: false, batchSize: BATCH },
  });
  try {
    const db = server.db;
    const byRegion = new Map<string, string[]>();
    for (const m of merchants) byRegion.set(m.regionId, [...(byRegion.get(m.regionId) ?? []), m.id]);
    const records = syntheticOpenCases({
      count: COUNT,
      now: NOW,
      seed: 20261125,
      templateIds: Object.values(TEMPLATE_IDS),
      regionIds: [...byRegion.keys()],
    });
    const prefix = prefixFromNumber(900);
    console.log(`inserting ${COUNT} open cases with their timelines…`);
    const insertStarted = performance.now();
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      const chunk = records.slice(start, start + INSERT_CHUNK);
      const cases: unknown[] = [];
      const events: unknown[] = [];
      const engineCases: unknown[] = [];
      const statuses: unknown[] = [];
      const eventTimes: unknown[] = [];
      chunk.forEach((r, i) => {
        const n = start + i;
        const regionMerchants = byRegion.get(r.regionId ?? '') ?? [MERCHANT_IDS.tehranSupermarket];
        const merchantId = regionMerchants[n % regionMerchants.length]!;
        const merchant = merchants.find((m) => m.id === merchantId)!;
        const device = equipment.find((e) => e.merchantId === merchantId)?.id ?? null;
        const createdAt = new Date(Number(r.createdAt)).toISOString();
        const sorted = [...r.events].sort((a, b) => Number(a.at) - Number(b.at));
        const statusEvents = sorted.filter((e) => e.type === 'status');
        const status = statusEvents.at(-1)?.status ?? 'new';
        cases.push({
          id: r.id,
          trackingCode: formatTrackingCode(prefix, 1405, n + 1),
          templateId: r.templateId,
          channel: 'walk_in',
          status,
          priority: r.priority,
          merchantId,
          equipmentId: device,
          branchId: merchant.branchId,
          subject: 'Synthetic open case',
          description: '',
          reporterName: 'Bench',
          reporterPhone: '09120000000',
          createdBy: USER_IDS.branch1,
          assigneeId: USER_IDS.tech1,
          createdAt,
          updatedAt: createdAt,
          serverUpdatedAt: 1,
          acknowledgedUpdatedAt: createdAt,
          sla: null,
          teamId: 'team-field-ops',
          supportTier: 'L1',
          possibleDuplicateOf: null,
        });
        engineCases.push({ case_id: r.id, at: Number(r.createdAt), status });
        statuses.push({ case_id: r.id, at: Number(r.createdAt), status: 'new' });
        sorted.forEach((e, k) => {
          const id = `${r.id}-e${k}`;
          const at = new Date(Number(e.at)).toISOString();
          const customer = e.type === 'customer_update';
          events.push({
            id,
            caseId: r.id,
            kind: customer ? 'comment' : 'status_change',
            authorId: USER_IDS.branch1,
            at,
            body: customer ? 'Called the merchant back' : null,
            fromStatus: null,
            toStatus: customer ? null : e.status,
            assigneeId: null,
            minutes: null,
            diagnosticId: null,
            articleId: null,
            createdAt: at,
            updatedAt: at,
            serverUpdatedAt: 1,
            visibility: 'public',
            attachments: [],
          });
          eventTimes.push({ event_id: id, case_id: r.id, at: Number(e.at), customer });
          if (!customer) statuses.push({ case_id: r.id, at: Number(e.at), status: e.status });
        });
      });
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO cases (id, doc, server_updated_at, tracking_code, branch_id, created_by, assignee_id)
           SELECT v ->> 'id', v, 1, v ->> 'trackingCode', v ->> 'branchId', v ->> 'createdBy', v ->> 'assigneeId'
           FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(cases)],
        );
        await tx.query(
          `INSERT INTO documents (collection, id, doc, server_updated_at, owner_id, case_id)
           SELECT 'case_events', v ->> 'id', v, 1, v ->> 'authorId', v ->> 'caseId' FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(events)],
        );
        await tx.query(
          `INSERT INTO engine_cases (case_id, accepted_created_at, last_status, routed_at, duplicate_checked_at)
           SELECT v ->> 'case_id', (v ->> 'at')::bigint, v ->> 'status', (v ->> 'at')::bigint, (v ->> 'at')::bigint
           FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(engineCases)],
        );
        await tx.query(
          `INSERT INTO engine_case_statuses (case_id, at, status, source)
           SELECT v ->> 'case_id', (v ->> 'at')::bigint, v ->> 'status', 'bench' FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(statuses)],
        );
        await tx.query(
          `INSERT INTO engine_event_times (event_id, case_id, at, customer_facing, flagged)
           SELECT v ->> 'event_id', v ->> 'case_id', (v ->> 'at')::bigint, (v ->> 'customer')::boolean, FALSE
           FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(eventTimes)],
        );
        await tx.query(
          `INSERT INTO engine_hops (case_id, tier, team_id, from_at)
           SELECT v ->> 'case_id', 'L1', 'team-field-ops', (v ->> 'at')::bigint FROM jsonb_array_elements($1::jsonb) AS v`,
          [JSON.stringify(engineCases)],
        );
      });
    }
    await db.exec('ANALYZE');
    const insertSeconds = (performance.now() - insertStarted) / 1000;
    console.log(`inserted in ${insertSeconds.toFixed(1)} s`);

    const openCasesSql = `SELECT doc, server_updated_at FROM cases WHERE NOT deleted AND doc ->> 'status' NOT IN ('resolved', 'closed')`;
    await db.query(openCasesSql); // warm the cache the same way for both
    const selectStarted = performance.now();
    const selected = await db.query(openCasesSql);
    const selectSeconds = (performance.now() - selectStarted) / 1000;
    console.log(`plain SELECT of ${selected.length} open cases: ${selectSeconds.toFixed(3)} s`);

    const firstStarted = performance.now();
    const firstCount = await server.engine.recomputeAll({ slaOnly: true });
    const firstSeconds = (performance.now() - firstStarted) / 1000;
    console.log(`first recomputation: ${firstCount} cases in ${firstSeconds.toFixed(1)} s`);

    const writes = await db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM audit_log WHERE collection = 'cases' AND user_id = 'system'",
    );
    const states = await db.query<{ state: string | null; n: string }>(
      "SELECT doc -> 'sla' ->> 'state' AS state, count(*)::text AS n FROM cases GROUP BY 1 ORDER BY 1",
    );

    const steadyStarted = performance.now();
    const steadyCount = await server.engine.recomputeAll({ slaOnly: true });
    const steadySeconds = (performance.now() - steadyStarted) / 1000;
    const writesAfter = await db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM audit_log WHERE collection = 'cases' AND user_id = 'system'",
    );
    console.log(`steady recomputation: ${steadyCount} cases in ${steadySeconds.toFixed(1)} s`);

    const casesPerSecond = Math.round(firstCount / firstSeconds);
    writeResult('sla', {
      ratio: Number((firstSeconds / selectSeconds).toFixed(1)),
      casesPerSecond,
      openCases: firstCount,
      database: 'postgres (throw-away cluster, loopback)',
      batchSize: BATCH,
      first: {
        seconds: Number(firstSeconds.toFixed(2)),
        casesPerSecond,
        slaWrites: Number(writes[0]?.n ?? 0),
        states: Object.fromEntries(states.map((s) => [s.state ?? 'none', Number(s.n)])),
      },
      steady: {
        seconds: Number(steadySeconds.toFixed(2)),
        casesPerSecond: Math.round(steadyCount / steadySeconds),
        slaWrites: Number(writesAfter[0]?.n ?? 0) - Number(writes[0]?.n ?? 0),
        ratioToSelect: Number((steadySeconds / selectSeconds).toFixed(1)),
      },
      select: { seconds: Number(selectSeconds.toFixed(3)), rows: selected.length },
      insertSeconds: Number(insertSeconds.toFixed(1)),
      note: 'ratio = first recomputation (reads timelines, evaluates with the region calendar, writes each changed sla with stamp and audit) ÷ one plain SELECT of the same open cases, same run',
    });
  } finally {
    await server.close();
    await pg.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
