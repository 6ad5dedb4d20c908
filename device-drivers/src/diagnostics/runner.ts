/**
 * The diagnostics runner: plays a family's suite against a driver, one step at a time, and turns
 * what happened into a `DiagnosticRunResult` for the case and the equipment history.
 *
 * Guarantees a technician relies on:
 * - every step ends: a per-step timer fails it with DIAG-TIME-001 (and asks the driver to cancel);
 * - cancel is honoured at once: the current step stops, the driver is told, the rest are `skipped`;
 * - a check the protocol does not offer is `not_supported`, never attempted or faked;
 * - the raw frames of each step travel with it, so support sees the wire without a second visit.
 */
import type {
  DeviceIdentity,
  DiagnosticErrorCode,
  DiagnosticRunResult,
  DiagnosticStepResult,
  StepStatus,
  Verdict,
} from '@emdad/domain';
import type { DeviceDriver, DriverContext, FrameLogEntry } from '../drivers/driver.ts';
import { classifyFailure, isDeviceFaultCode, isLinkFatal } from './classify.ts';
import type { DiagnosticSuite, SuiteStep } from './suites.ts';

export type Bilingual = { en: string; fa: string };

export type DiagnosticProgressEvent =
  | {
      type: 'run_started';
      suite: string;
      family: DiagnosticRunResult['family'];
      port: string;
      steps: { id: string; title: Bilingual; interactive: boolean }[];
      at: string;
    }
  | { type: 'step_started'; stepId: string; index: number; total: number; title: Bilingual; at: string }
  | { type: 'prompt'; stepId: string; message: Bilingual; at: string }
  | { type: 'step_finished'; stepId: string; index: number; total: number; result: DiagnosticStepResult }
  | { type: 'run_finished'; result: DiagnosticRunResult };

export interface RunDiagnosticsOptions {
  driver: DeviceDriver;
  suite: DiagnosticSuite;
  /** The port path the report names (e.g. /dev/ttyUSB0). */
  port: string;
  /** Abort to cancel. A `DriverError`/`TransportError` as the abort reason (the link was lost) is
   * recorded as that failure; any other reason is a cancel by the technician. */
  signal?: AbortSignal;
  onProgress?: (event: DiagnosticProgressEvent) => void;
  /** Language of `DiagnosticStepResult.title` (the report's stored title). Default 'en'. */
  language?: 'en' | 'fa';
  /** Bound on the driver's cancel/close during clean-up after a timeout, cancel or early stop. */
  cleanupTimeoutMs?: number;
  /** Monotonic milliseconds, for durations. */
  now?: () => number;
  /** Wall clock, for startedAt/finishedAt. */
  clock?: () => Date;
}

/** Messages the runner itself writes on steps, in the run's language. */
export const RUNNER_MESSAGES = {
  notSupported: {
    en: "Not supported by this device's protocol.",
    fa: 'پروتکل این دستگاه از این آزمون پشتیبانی نمی‌کند.',
  },
  cancelled: { en: 'Cancelled by the technician.', fa: 'به درخواست تکنسین لغو شد.' },
  skippedAfterStop: {
    en: 'Not run: an earlier step failed and the suite could not continue.',
    fa: 'اجرا نشد: مرحلهٔ قبلی ناموفق بود و ادامهٔ آزمون ممکن نبود.',
  },
  timedOut: (seconds: number) => ({
    en: `The step did not finish within ${seconds} s. Check the device and its cable, then run the test again.`,
    fa: `این مرحله در ${seconds} ثانیه تمام نشد. دستگاه و کابل آن را بررسی و آزمون را دوباره اجرا کنید.`,
  }),
} as const;
export const NOT_SUPPORTED_MESSAGE = RUNNER_MESSAGES.notSupported.en;
export const CANCELLED_MESSAGE = RUNNER_MESSAGES.cancelled.en;
export const SKIPPED_AFTER_STOP_MESSAGE = RUNNER_MESSAGES.skippedAfterStop.en;

interface StepOutcome {
  result: DiagnosticStepResult;
  /** End the run after this step (later steps skipped). */
  stop: boolean;
  cancelled: boolean;
  linkLost: boolean;
  identity?: DeviceIdentity;
}

interface PerformResult {
  status: StepStatus;
  values: Record<string, unknown>;
  errorCode: DiagnosticErrorCode | null;
  message: string | null;
  identity?: DeviceIdentity;
}

type Race<T> =
  { kind: 'done'; value: T } | { kind: 'error'; error: unknown } | { kind: 'timeout' } | { kind: 'aborted' };

function frameKey(f: FrameLogEntry): string {
  return `${f.direction}|${f.hex}|${f.at}`;
}

/** Waits for `promise` at most `ms`; never rejects (clean-up must not hide the real result). */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function safeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

export function computeVerdict(steps: readonly DiagnosticStepResult[], suite: DiagnosticSuite): Verdict {
  const kindOf = new Map(suite.steps.map((s) => [s.id, s.kind]));
  const deviceFault = steps.some(
    (s) => s.status === 'fail' && kindOf.get(s.id) !== 'close' && isDeviceFaultCode(s.errorCode),
  );
  if (deviceFault) return 'faulty';
  if (steps.some((s) => s.status === 'skipped')) return 'incomplete';
  // A device that passed everything but did not close cleanly still works: degraded, not faulty.
  if (steps.some((s) => s.status === 'fail' && kindOf.get(s.id) !== 'close')) return 'faulty';
  if (steps.some((s) => s.status === 'warn' || s.status === 'fail')) return 'degraded';
  return 'healthy';
}

export async function runDiagnostics(options: RunDiagnosticsOptions): Promise<DiagnosticRunResult> {
  const { driver, suite, port } = options;
  const signal = options.signal ?? new AbortController().signal;
  const language = options.language ?? 'en';
  const cleanupMs = options.cleanupTimeoutMs ?? 3_000;
  const now = options.now ?? (() => performance.now());
  const clock = options.clock ?? (() => new Date());
  const total = suite.steps.length;

  const emit = (event: DiagnosticProgressEvent): void => {
    try {
      options.onProgress?.(event);
    } catch {
      // A broken listener (a closed window) must not break the run on the device.
    }
  };

  const startedAt = clock().toISOString();
  emit({
    type: 'run_started',
    suite: suite.name,
    family: suite.family,
    port,
    steps: suite.steps.map((s) => ({ id: s.id, title: s.title, interactive: s.interactive === true })),
    at: startedAt,
  });

  const results: DiagnosticStepResult[] = [];
  let identity: DeviceIdentity | null = null;
  let stopped: 'cancelled' | 'failure' | 'link_lost' | null = null;
  let closeAttempted = false;

  for (const [index, step] of suite.steps.entries()) {
    if (stopped === null && signal.aborted) {
      const reason = classifyAbortReason(signal.reason);
      stopped = reason === null ? 'cancelled' : 'link_lost';
    }
    if (stopped !== null) {
      const message = (
        stopped === 'cancelled' ? RUNNER_MESSAGES.cancelled : RUNNER_MESSAGES.skippedAfterStop
      )[language];
      const result = emptyResult(step, language, 'skipped', message);
      results.push(result);
      emit({ type: 'step_finished', stepId: step.id, index, total, result });
      continue;
    }
    emit({
      type: 'step_started',
      stepId: step.id,
      index,
      total,
      title: step.title,
      at: clock().toISOString(),
    });
    if (step.kind === 'close') closeAttempted = true;
    const outcome = await runStep(step);
    results.push(outcome.result);
    if (outcome.identity) identity = outcome.identity;
    emit({ type: 'step_finished', stepId: step.id, index, total, result: outcome.result });
    if (outcome.cancelled) stopped = 'cancelled';
    else if (outcome.linkLost) stopped = 'link_lost';
    else if (outcome.stop) stopped = 'failure';
  }

  // Leave the device idle (its idle screen, no pending command) unless the link is gone.
  if (stopped !== null && stopped !== 'link_lost' && !closeAttempted) {
    const ctx: DriverContext = {
      signal: AbortSignal.timeout(cleanupMs),
      log: () => undefined,
      prompt: () => undefined,
    };
    await settleWithin(
      safeCall(() => driver.close(ctx)),
      cleanupMs,
    );
  }

  const errorCodes: DiagnosticErrorCode[] = [];
  for (const r of results)
    if (r.errorCode !== null && !errorCodes.includes(r.errorCode)) errorCodes.push(r.errorCode);
  const result: DiagnosticRunResult = {
    suite: suite.name,
    family: suite.family,
    port,
    identity,
    startedAt,
    finishedAt: clock().toISOString(),
    verdict: computeVerdict(results, suite),
    errorCodes,
    steps: results,
  };
  emit({ type: 'run_finished', result });
  return result;

  async function runStep(step: SuiteStep): Promise<StepOutcome> {
    const started = now();
    const frames: FrameLogEntry[] = [];
    let finished = false;
    const stepAbort = new AbortController();
    const ctx: DriverContext = {
      signal: stepAbort.signal,
      log(entry) {
        // A command abandoned by a timeout may still log; it belongs to no step any more.
        if (!finished) frames.push({ direction: entry.direction, hex: entry.hex, at: entry.at });
      },
      prompt(message) {
        if (!finished) emit({ type: 'prompt', stepId: step.id, message, at: clock().toISOString() });
      },
    };

    if (step.kind === 'check' && (step.checkId === undefined || !driver.checks.includes(step.checkId))) {
      finished = true;
      const result = emptyResult(step, language, 'not_supported', RUNNER_MESSAGES.notSupported[language]);
      result.values = { protocol: driver.protocol };
      return { result, stop: false, cancelled: false, linkLost: false };
    }

    let timer: ReturnType<typeof setTimeout> | undefined;
    let onRunAbort: (() => void) | undefined;
    const work = safeCall(() => perform(step, ctx));
    /**
     * After a timeout or cancel: tell the driver, then wait (bounded) for the abandoned command to
     * unwind — its CAN/EOT exchange must be over before the next step talks to the device.
     */
    const quiesce = (): Promise<void> =>
      settleWithin(Promise.allSettled([safeCall(() => driver.cancel()), work]), cleanupMs);
    const race = await Promise.race<Race<PerformResult>>([
      work.then(
        (value): Race<PerformResult> => ({ kind: 'done', value }),
        (error: unknown): Race<PerformResult> => ({ kind: 'error', error }),
      ),
      new Promise<Race<PerformResult>>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'timeout' }), step.timeoutMs);
      }),
      new Promise<Race<PerformResult>>((resolve) => {
        onRunAbort = () => resolve({ kind: 'aborted' });
        if (signal.aborted) onRunAbort();
        else signal.addEventListener('abort', onRunAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onRunAbort) signal.removeEventListener('abort', onRunAbort);

    let status: StepStatus = 'fail';
    let values: Record<string, unknown> = {};
    let errorCode: DiagnosticErrorCode | null = null;
    let message: string | null = null;
    let stop = false;
    let cancelled = false;
    let linkLost = false;
    let stepIdentity: DeviceIdentity | undefined;

    switch (race.kind) {
      case 'done': {
        ({ status, values, errorCode, message } = race.value);
        stepIdentity = race.value.identity;
        stop = status === 'fail' && (step.stopOnFailure || isLinkFatal(errorCode));
        linkLost =
          status === 'fail' &&
          (errorCode === 'DIAG-LINK-003' || errorCode?.startsWith('DIAG-PORT-') === true);
        break;
      }
      case 'error': {
        const failure = classifyFailure(race.error);
        status = 'fail';
        errorCode = failure.errorCode;
        message = failure.message;
        mergeFrames(frames, failure.frames);
        linkLost = failure.linkLost && errorCode !== 'DIAG-LINK-001';
        stop = step.stopOnFailure || failure.linkLost;
        break;
      }
      case 'timeout': {
        stepAbort.abort(new DOMException(`Step ${step.id} timed out`, 'TimeoutError'));
        await quiesce();
        status = 'fail';
        errorCode = 'DIAG-TIME-001';
        message = RUNNER_MESSAGES.timedOut(Math.round(step.timeoutMs / 1000))[language];
        stop = step.stopOnFailure;
        break;
      }
      case 'aborted': {
        stepAbort.abort(signal.reason);
        const linkFailure = classifyAbortReason(signal.reason);
        if (linkFailure) {
          status = 'fail';
          errorCode = linkFailure.errorCode;
          message = linkFailure.message;
          mergeFrames(frames, linkFailure.frames);
          linkLost = true;
        } else {
          await quiesce();
          status = 'skipped';
          message = RUNNER_MESSAGES.cancelled[language];
          cancelled = true;
        }
        stop = true;
        break;
      }
    }
    finished = true;
    const result: DiagnosticStepResult = {
      id: step.id,
      title: step.title[language],
      status,
      values,
      errorCode,
      message,
      frames: frames.slice(),
      durationMs: Math.max(0, Math.round(now() - started)),
    };
    return { result, stop, cancelled, linkLost, ...(stepIdentity ? { identity: stepIdentity } : {}) };
  }

  async function perform(step: SuiteStep, ctx: DriverContext): Promise<PerformResult> {
    switch (step.kind) {
      case 'open':
        await driver.open(ctx);
        return { status: 'pass', values: { protocol: driver.protocol }, errorCode: null, message: null };
      case 'identify': {
        const id = await driver.identify(ctx);
        return {
          status: 'pass',
          values: {
            manufacturer: id.manufacturer,
            model: id.model,
            serialNumber: id.serialNumber,
            firmwareVersion: id.firmwareVersion,
            appVersion: id.appVersion,
          },
          errorCode: null,
          message: null,
          identity: id,
        };
      }
      case 'check': {
        const r = await driver.runCheck(step.checkId ?? step.id, ctx);
        const message =
          r.status === 'not_supported' && r.message === null
            ? RUNNER_MESSAGES.notSupported[language]
            : r.message;
        return { status: r.status, values: r.values, errorCode: r.errorCode, message };
      }
      case 'close':
        await driver.close(ctx);
        return { status: 'pass', values: {}, errorCode: null, message: null };
    }
  }
}

/** A link-loss abort reason (the service aborts a run when the port disappears), or null for a cancel. */
function classifyAbortReason(reason: unknown): ReturnType<typeof classifyFailure> | null {
  const failure = classifyFailure(reason);
  return failure.errorCode !== null && isLinkFatal(failure.errorCode) ? failure : null;
}

function mergeFrames(into: FrameLogEntry[], extra: readonly FrameLogEntry[]): void {
  const seen = new Set(into.map(frameKey));
  for (const f of extra)
    if (!seen.has(frameKey(f))) into.push({ direction: f.direction, hex: f.hex, at: f.at });
  into.sort((a, b) => a.at - b.at);
}

function emptyResult(
  step: SuiteStep,
  language: 'en' | 'fa',
  status: StepStatus,
  message: string | null,
): DiagnosticStepResult {
  return {
    id: step.id,
    title: step.title[language],
    status,
    values: {},
    errorCode: null,
    message,
    frames: [],
    durationMs: 0,
  };
}
