/**
 * Public case tracking (issue 5, part 9), no sign-in:
 * - `POST /api/public/track` { code, phone4 } → the case's public view (public-tracking/lookup.ts);
 * - `POST /api/public/track/survey` { code, phone4, score, comment } → answers the closed case's survey;
 * - `GET /track` → the merchant's page (track-page/, bundled once with esbuild, served under the
 *   console's CSP).
 *
 * POST, not GET: the tracking code and phone digits are a credential; in a query string they would
 * land in access logs, proxy logs, browser history and bookmarks. Answers are `no-store`.
 *
 * Order of checks, cheapest and least revealing first: body shape and the tracking code's check
 * character (400, no database touched) → per-code lockout (429 `code_locked`) → the case and the
 * phone digits. A wrong code and a wrong phone give the same 404 through the same work (a failure is
 * counted for the code either way), and every answer takes at least `minResponseMs`, so timing
 * tells nothing either. Per IP: @fastify/rate-limit (429 `rate_limited`).
 */
import { performance } from 'node:perf_hooks';
import { API_ROUTES, parseTrackingCode, type CaseDoc } from '@emdad/domain';
import type {
  PublicSurveyAnswerResult,
  PublicTrackingAnswer,
  PublicTrackingErrorReason,
} from '@emdad/domain/public-tracking';
import { publicSurveyRequestSchema, publicTrackRequestSchema } from '@emdad/domain/public-tracking-api';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Db } from '../db/index.ts';
import type { SurveyEngine } from '../engine/surveys.ts';
import { ApiError } from '../errors.ts';
import { findTrackedCase, publicView } from '../public-tracking/lookup.ts';
import { trackPageAssets } from '../public-tracking/page.ts';
import {
  clearFailures,
  lockedUntil,
  recordFailure,
  type LockoutPolicy,
} from '../public-tracking/throttle.ts';

export interface PublicTrackingRouteOptions {
  db: Db;
  now: () => number;
  surveys: SurveyEngine;
  /** Requests per IP address per minute to each public route. */
  rateLimitPerMinute: number;
  lockout: LockoutPolicy;
  /** Every answer (right or wrong) takes at least this long; 0 in tests. */
  minResponseMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function refusal(
  status: number,
  code: ConstructorParameters<typeof ApiError>[1],
  reason: PublicTrackingErrorReason,
  message: string,
  extra: Record<string, unknown> = {},
): ApiError {
  return new ApiError(status, code, message, { reason, ...extra });
}

const NOT_FOUND_MESSAGE =
  'No case matches this tracking code and phone number. Check the code on the receipt and the last four digits of the phone number given.';

export function registerPublicTrackingRoutes(
  app: FastifyInstance,
  options: PublicTrackingRouteOptions,
): void {
  const { db, now, lockout } = options;
  const limit = { config: { rateLimit: { max: options.rateLimitPerMinute, timeWindow: 60_000 } } };

  /** Runs `fn` and answers no sooner than the floor, whether it succeeds or throws. */
  async function withFloor<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    reply.header('cache-control', 'no-store');
    try {
      return await fn();
    } finally {
      const left = options.minResponseMs - (performance.now() - started);
      if (left > 0) await sleep(left);
    }
  }

  /** Shape → check character → lockout → case and phone. Throws the refusal; answers the case. */
  async function provenCase(body: unknown): Promise<CaseDoc> {
    const parsed = publicTrackRequestSchema.safeParse(body);
    if (!parsed.success) {
      const onPhone = parsed.error.issues.some((i) => i.path[0] === 'phone4');
      throw onPhone
        ? refusal(400, 'validation_failed', 'phone_format', 'phone4 must be exactly four digits.')
        : refusal(
            400,
            'validation_failed',
            'code_format',
            'code must be a tracking code (PPP-YYYY-SSSSSS-C).',
          );
    }
    const code = parseTrackingCode(parsed.data.code);
    if (!code.ok)
      throw code.reason === 'check'
        ? refusal(
            400,
            'validation_failed',
            'code_typo',
            'The tracking code’s check character does not match: a character is mistyped.',
          )
        : refusal(
            400,
            'validation_failed',
            'code_format',
            'code must be a tracking code (PPP-YYYY-SSSSSS-C).',
          );
    const lockedFor = (until: number) =>
      refusal(
        429,
        'rate_limited',
        'code_locked',
        'Too many wrong tries for this tracking code; it is locked for a while.',
        {
          retryAfterSeconds: Math.max(1, Math.ceil((until - now()) / 1000)),
        },
      );
    const locked = await lockedUntil(db, code.code, now());
    if (locked !== null) throw lockedFor(locked);
    const found = await findTrackedCase(db, code.code, parsed.data.phone4);
    if (!found) {
      const lockNow = await recordFailure(db, code.code, now(), lockout);
      if (lockNow !== null) throw lockedFor(lockNow);
      throw refusal(404, 'not_found', 'not_found', NOT_FOUND_MESSAGE);
    }
    await clearFailures(db, code.code, now());
    return found;
  }

  app.post(API_ROUTES.publicTrack, limit, async (request, reply): Promise<PublicTrackingAnswer> =>
    withFloor(reply, async () => publicView(db, await provenCase(request.body))),
  );

  app.post(API_ROUTES.publicTrackSurvey, limit, async (request, reply): Promise<PublicSurveyAnswerResult> =>
    withFloor(reply, async () => {
      const found = await provenCase(request.body);
      const answer = publicSurveyRequestSchema.safeParse(request.body);
      if (!answer.success)
        throw refusal(400, 'validation_failed', 'bad_score', 'score must be a whole number from 1 to 5.');
      const outcome = await options.surveys.answerFromTrackingPage(found.id, {
        score: answer.data.score,
        comment: answer.data.comment ?? null,
      });
      if (!outcome.ok) {
        const status =
          outcome.reason === 'case_not_closed' || outcome.reason === 'already_answered' ? 409 : 400;
        const code =
          outcome.reason === 'case_not_closed'
            ? 'invalid_transition'
            : outcome.reason === 'already_answered'
              ? 'append_only'
              : 'validation_failed';
        throw refusal(status, code, outcome.reason, outcome.message.en);
      }
      return { ok: true, survey: { status: 'answered' }, callbackPromised: outcome.callbackCaseId !== null };
    }),
  );

  const assets = trackPageAssets();
  app.get(API_ROUTES.publicTrackPage, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await assets.html()),
  );
  app.get(`${API_ROUTES.publicTrackPage}/app.js`, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await assets.script()),
  );
  app.get(`${API_ROUTES.publicTrackPage}/app.css`, async (_request, reply) =>
    reply
      .type('text/css; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await assets.css()),
  );
}
