/**
 * Work done offline counts at the time it was done — if the device's clock can be trusted.
 * A device reports its own clock with every push (`deviceNow`); the difference to the server's
 * clock at that moment is the device's skew. Within `boundMs` the device's event times are taken
 * as they are; beyond it they are shifted by the skew onto the server's time line and flagged,
 * so a supervisor sees that the time was corrected. No event may lie in the server's future.
 */
import { type Instant } from './calendar.ts';

export const DEFAULT_SKEW_BOUND_MS = 5 * 60_000;

export interface AcceptedEventTime {
  /** The time the server records for the event, ISO 8601. */
  at: string;
  /** Device clock minus server clock, ms (null when the device did not report its clock). */
  skewMs: number | null;
  /** True when the skew exceeded the bound or the event claimed a future time. */
  flagged: boolean;
  reason: 'within_bound' | 'skew_corrected' | 'future_clamped' | 'not_before_clamped';
}

const ms = (i: Instant) => (typeof i === 'number' ? i : typeof i === 'string' ? Date.parse(i) : i.getTime());

export function acceptDeviceEventTime(options: {
  eventAt: Instant;
  serverNow: Instant;
  deviceNow?: Instant | null;
  boundMs?: number;
  /** The earliest acceptable time (e.g. the case's creation); later events cannot precede it. */
  notBefore?: Instant | null;
}): AcceptedEventTime {
  const bound = options.boundMs ?? DEFAULT_SKEW_BOUND_MS;
  const serverNow = ms(options.serverNow);
  const skewMs = options.deviceNow == null ? null : ms(options.deviceNow) - serverNow;
  let at = ms(options.eventAt);
  let flagged = false;
  let reason: AcceptedEventTime['reason'] = 'within_bound';
  if (!Number.isFinite(at) || !Number.isFinite(serverNow))
    throw new RangeError('event and server times must be valid instants');
  if (skewMs !== null && Math.abs(skewMs) > bound) {
    at -= skewMs;
    flagged = true;
    reason = 'skew_corrected';
  }
  // Within the bound a device may run a little ahead: clamp to the server's now without a flag.
  if (at > serverNow + bound) {
    at = serverNow;
    flagged = true;
    reason = 'future_clamped';
  } else if (at > serverNow) {
    at = serverNow;
  }
  if (options.notBefore != null && at < ms(options.notBefore)) {
    at = ms(options.notBefore);
    flagged = true;
    reason = 'not_before_clamped';
  }
  return { at: new Date(at).toISOString(), skewMs, flagged, reason };
}
