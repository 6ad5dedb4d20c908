/**
 * The contract between the diagnostics runner (and auto-detect, the device service, the CLI) and
 * every protocol driver. Drivers speak one wire protocol over an injected `Transport`; they never
 * decide suite order, timeouts or verdicts — the runner does.
 */
import type { Transport } from '../transport/transport.ts';
import type { DeviceFamily, DeviceIdentity, DiagnosticErrorCode } from '@emdad/domain';

export interface FrameLogEntry {
  direction: 'tx' | 'rx';
  hex: string;
  at: number;
}

export interface DriverContext {
  signal: AbortSignal;
  log(entry: FrameLogEntry): void;
  /** Prompts the technician (press keys, swipe a card) — the runner forwards it as a progress event. */
  prompt(message: { en: string; fa: string }): void;
}

export interface DriverCheckResult {
  status: 'pass' | 'fail' | 'warn' | 'not_supported';
  values: Record<string, unknown>;
  errorCode: DiagnosticErrorCode | null;
  message: string | null;
}

export interface DeviceDriver {
  readonly family: DeviceFamily;
  readonly protocol: 'abecs' | 'stx' | 'hid';
  /** Harmless handshake for auto-detect; resolves true/false within `timeoutMs`, never throws. */
  probe(ctx: DriverContext, timeoutMs: number): Promise<boolean>;
  open(ctx: DriverContext): Promise<void>;
  identify(ctx: DriverContext): Promise<DeviceIdentity>;
  /** Check ids this protocol offers, e.g. 'display', 'keypad', 'card_events', 'key_slots', 'self_test'. */
  readonly checks: readonly string[];
  runCheck(checkId: string, ctx: DriverContext): Promise<DriverCheckResult>;
  cancel(): Promise<void>;
  close(ctx: DriverContext): Promise<void>;
}

export type DriverFactory = (transport: Transport) => DeviceDriver;

/**
 * What a driver throws when a command cannot complete (no ACK, repeated CRC errors, the device
 * went away). `code` is a stable domain code the runner records on the step; `frames` carries the
 * raw exchange up to the failure so support can see what was on the wire.
 */
export class DriverError extends Error {
  readonly code: DiagnosticErrorCode;
  readonly frames: FrameLogEntry[] | undefined;

  constructor(
    code: DiagnosticErrorCode,
    message: string,
    options?: { frames?: FrameLogEntry[]; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DriverError';
    this.code = code;
    this.frames = options?.frames;
  }
}

/** Lower-case hex without separators, the form frame logs use. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
