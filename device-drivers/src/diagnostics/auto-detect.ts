/**
 * Auto-detect: what is on this port? Each protocol's harmless handshake (`DeviceDriver.probe`) is
 * tried in turn, at each line setting the protocol is used with, every attempt bounded and the
 * whole search bounded, so a technician gets "ABECS PinPad" or "protocol not recognised" quickly
 * instead of a hung screen.
 *
 * Order matters on a real port: ABECS first (one line setting; an ABECS PinPad that sees foreign
 * bytes only discards input until the line is quiet), then the STX dialect at its bauds, 8N1 before
 * 7E1. A port error (busy, permission) ends the search at once: no other protocol can fix it.
 */
import type { DeviceFamily, DiagnosticErrorCode } from '@emdad/domain';
import type { DeviceDriver, DriverContext, DriverFactory } from '../drivers/driver.ts';
import { TransportError, type SerialLineSettings, type Transport } from '../transport/transport.ts';
import { transportErrorToDiagnosticCode } from './classify.ts';

export interface ProtocolCandidate {
  protocol: DeviceDriver['protocol'];
  family: DeviceFamily;
  createDriver: DriverFactory;
  /** Line settings to try, most likely first. */
  lineSettings: readonly SerialLineSettings[];
  /** Names a driver variant when one protocol is listed twice (e.g. 7E1 parity done in software). */
  variant?: string;
}

export interface AutoDetectAttempt {
  protocol: DeviceDriver['protocol'];
  variant: string | null;
  settings: SerialLineSettings;
  outcome: 'recognised' | 'no_answer' | 'port_error';
  message: string | null;
  durationMs: number;
}

export type AutoDetectResult =
  | {
      found: true;
      protocol: DeviceDriver['protocol'];
      variant: string | null;
      family: DeviceFamily;
      settings: SerialLineSettings;
      /** Open, probed and ready for a suite; the caller owns (and closes) it. */
      transport: Transport;
      driver: DeviceDriver;
      attempts: AutoDetectAttempt[];
    }
  | {
      found: false;
      errorCode: DiagnosticErrorCode;
      message: string;
      /** The port error that ended the search, when there was one. */
      transportError: TransportError | null;
      attempts: AutoDetectAttempt[];
    };

export interface AutoDetectOptions {
  path: string;
  candidates: readonly ProtocolCandidate[];
  /** Creates a transport (not yet open) for `path` with these line settings. */
  createTransport: (path: string, settings: SerialLineSettings) => Transport;
  /** Bound on one probe. Default 1500 ms. */
  probeTimeoutMs?: number;
  /** Bound on the whole search, including opening and closing the port. Default 15 s. */
  overallTimeoutMs?: number;
  signal?: AbortSignal;
  onAttempt?: (attempt: AutoDetectAttempt) => void;
  now?: () => number;
}

export const PROTOCOL_NOT_RECOGNISED_MESSAGE =
  'No known protocol answered on this port. Check that the device is powered on and in its idle screen, and that the cable is the data cable for this model.';

function describe(settings: SerialLineSettings): string {
  const parity = settings.parity === 'none' ? 'N' : settings.parity === 'even' ? 'E' : 'O';
  return `${settings.baudRate} ${settings.dataBits}${parity}${settings.stopBits}`;
}
export { describe as describeLineSettings };

async function closeQuietly(transport: Transport): Promise<void> {
  try {
    await transport.close();
  } catch {
    // The port may already be gone; nothing to release.
  }
}

export async function autoDetect(options: AutoDetectOptions): Promise<AutoDetectResult> {
  const now = options.now ?? (() => performance.now());
  const probeTimeoutMs = options.probeTimeoutMs ?? 1_500;
  const deadline = now() + (options.overallTimeoutMs ?? 15_000);
  const attempts: AutoDetectAttempt[] = [];
  const record = (attempt: AutoDetectAttempt): void => {
    attempts.push(attempt);
    try {
      options.onAttempt?.(attempt);
    } catch {
      // progress display problems must not change what is detected
    }
  };

  for (const candidate of options.candidates) {
    for (const settings of candidate.lineSettings) {
      const remaining = deadline - now();
      if (remaining <= 0 || options.signal?.aborted) {
        return notRecognised(attempts, options.signal?.aborted === true);
      }
      const started = now();
      const variant = candidate.variant ?? null;
      const transport = options.createTransport(options.path, settings);
      try {
        await transport.open();
      } catch (error) {
        const te =
          error instanceof TransportError ? error : new TransportError('io_error', String(error), error);
        record({
          protocol: candidate.protocol,
          variant,
          settings,
          outcome: 'port_error',
          message: te.message,
          durationMs: now() - started,
        });
        return {
          found: false,
          errorCode: transportErrorToDiagnosticCode(te),
          message: te.message,
          transportError: te,
          attempts,
        };
      }
      const driver = candidate.createDriver(transport);
      const recognised = await boundedProbe(driver, Math.min(probeTimeoutMs, remaining), options.signal);
      if (recognised) {
        record({
          protocol: candidate.protocol,
          variant,
          settings,
          outcome: 'recognised',
          message: null,
          durationMs: now() - started,
        });
        return {
          found: true,
          protocol: candidate.protocol,
          variant,
          family: candidate.family,
          settings,
          transport,
          driver,
          attempts,
        };
      }
      await closeQuietly(transport);
      record({
        protocol: candidate.protocol,
        variant,
        settings,
        outcome: 'no_answer',
        message: `No ${candidate.protocol.toUpperCase()}${variant ? ` (${variant})` : ''} answer at ${describe(settings)}.`,
        durationMs: now() - started,
      });
    }
  }
  return notRecognised(attempts, false);
}

function notRecognised(attempts: AutoDetectAttempt[], cancelled: boolean): AutoDetectResult {
  return {
    found: false,
    errorCode: 'DIAG-LINK-004',
    message: cancelled
      ? 'Detection was cancelled before a protocol answered.'
      : PROTOCOL_NOT_RECOGNISED_MESSAGE,
    transportError: null,
    attempts,
  };
}

/** `probe` promises to answer in time and never throw; this enforces it for a driver that does not. */
async function boundedProbe(
  driver: DeviceDriver,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): Promise<boolean> {
  const abort = new AbortController();
  const onOuter = (): void => abort.abort(outer?.reason);
  outer?.addEventListener('abort', onOuter, { once: true });
  const ctx: DriverContext = { signal: abort.signal, log: () => undefined, prompt: () => undefined };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve()
        .then(() => driver.probe(ctx, timeoutMs))
        .then(
          (ok) => ok === true,
          () => false,
        ),
      // A little grace over the driver's own bound, so a well-behaved driver always answers itself.
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs + 250);
      }),
      new Promise<boolean>((resolve) =>
        abort.signal.addEventListener('abort', () => resolve(false), { once: true }),
      ),
    ]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
    if (!abort.signal.aborted) abort.abort();
  }
}
