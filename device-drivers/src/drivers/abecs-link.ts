/**
 * ABECS link layer on the host (SPE) side — spec 2.x section 2.2.2 (communication flow) and the
 * host processing flows in 2.2.3:
 * - send a command packet, wait up to 2 s for ACK/NAK; on NAK resend, at most 3 tries (2.2.2.1);
 * - read the response; on a bad packet discard input until 500 ms of silence, send NAK and wait for
 *   the retransmission, at most 3 times (2.2.2.2, 2.2.3); a good response is not acknowledged;
 * - non-blocking commands answer within 10 s; blocking ones wait for the operator and may send
 *   `NTM` notification responses first (2.2.2, 2.3.3);
 * - cancel with CAN, expecting EOT within 2 s, up to 3 times, ignoring other bytes meanwhile
 *   (2.2.2.3).
 * Every byte on the wire is logged through `log` so a failed step carries its raw frames.
 */
import type { Transport, TransportError } from '../transport/transport.ts';
import {
  ABECS,
  AbecsDecoder,
  encodeAbecsFrame,
  fromLatin1,
  latin1,
  type AbecsEvent,
} from '../framing/abecs.ts';
import { DriverError, toHex, type FrameLogEntry } from './driver.ts';

export interface AbecsLinkTimings {
  /** Wait for ACK/NAK after a command (spec: 2 s). */
  ackTimeoutMs: number;
  /** Tries for a command answered by NAK, and NAKs sent for a bad response (spec: 3). */
  maxTries: number;
  /** Silence that ends the discard after an error (spec: 500 ms). */
  silenceMs: number;
  /** Longest discard before giving up on a line that never goes quiet. */
  maxDiscardMs: number;
  /** Wait for the response to a non-blocking command (spec: 10 s). */
  responseTimeoutMs: number;
  /** Longest gap between two bytes of one packet (spec flow 2.2.3: 2 s). */
  interByteTimeoutMs: number;
  /** Wait for EOT after CAN (spec: 2 s). */
  eotTimeoutMs: number;
}

export const ABECS_SPEC_TIMINGS: AbecsLinkTimings = {
  ackTimeoutMs: 2000,
  maxTries: 3,
  silenceMs: 500,
  maxDiscardMs: 5000,
  responseTimeoutMs: 10_000,
  interByteTimeoutMs: 2000,
  eotTimeoutMs: 2000,
};

export interface AbecsCommandOptions {
  /** Blocking commands (GKY, CEX …) wait for the operator; `timeoutMs` still bounds them. */
  blocking?: boolean;
  /** Overrides the response timeout (a blocking command's overall bound). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each NTM notification text received before the final response. */
  onNotification?: (text: string) => void;
}

type Waiter = { resolve: (e: AbecsEvent | null) => void };

/** Cancels a wait early, e.g. when the operator aborts. */
class Aborted extends Error {}

export class AbecsLink {
  readonly timings: AbecsLinkTimings;
  private readonly decoder = new AbecsDecoder();
  private queue: AbecsEvent[] = [];
  private waiter: Waiter | null = null;
  private lastByteAt = 0;
  private lost: TransportError | null = null;
  private busy = false;
  private attached = false;
  /** Frames of the command in progress, attached to errors for support. */
  private frames: FrameLogEntry[] = [];

  constructor(
    private readonly transport: Transport,
    private log: (entry: FrameLogEntry) => void = () => undefined,
    timings: Partial<AbecsLinkTimings> = {},
  ) {
    this.timings = { ...ABECS_SPEC_TIMINGS, ...timings };
  }

  private readonly onData = (chunk: Uint8Array): void => {
    this.lastByteAt = Date.now();
    for (const event of this.decoder.push(chunk)) {
      this.record('rx', event.type === 'control' ? Uint8Array.of(event.byte) : event.raw);
      this.queue.push(event);
    }
    // Between commands nobody reads the queue; a chattering line must not grow it without bound.
    if (this.queue.length > 256) this.queue.splice(0, this.queue.length - 256);
    this.wake();
  };

  private readonly onClose = (error?: TransportError): void => {
    this.lost = error ?? ({ code: 'closed', message: 'closed' } as TransportError);
    this.wake();
  };

  /** Ready for a new exchange: attached, and a loss forgotten once the port is open again. */
  private prepare(): void {
    this.attach();
    if (this.lost && this.transport.isOpen) {
      this.lost = null;
      this.decoder.reset();
      this.queue = [];
    }
  }

  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.lost = null;
    this.transport.on('data', this.onData);
    this.transport.on('close', this.onClose);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.transport.off('data', this.onData);
    this.transport.off('close', this.onClose);
    this.wake();
  }

  /** Replaces the frame logger (each diagnostic step has its own). */
  setLogger(log: (entry: FrameLogEntry) => void): void {
    this.log = log;
  }

  private record(direction: 'tx' | 'rx', bytes: Uint8Array): void {
    const entry = { direction, hex: toHex(bytes), at: Date.now() };
    this.frames.push(entry);
    if (this.frames.length > 200) this.frames.shift();
    this.log(entry);
  }

  private wake(): void {
    const w = this.waiter;
    // Bytes that did not complete an event (half a packet) do not wake the waiter.
    if (!w || (this.queue.length === 0 && !this.lost && this.attached)) return;
    this.waiter = null;
    w.resolve(this.queue.shift() ?? null);
  }

  private fail(
    code: ConstructorParameters<typeof DriverError>[0],
    message: string,
    cause?: unknown,
  ): DriverError {
    return new DriverError(code, message, { frames: [...this.frames], cause });
  }

  private lostError(): DriverError {
    const partial = this.decoder.partial;
    if (partial.length > 0) {
      this.record('rx', partial);
      this.decoder.reset();
    }
    return this.fail(
      'DIAG-LINK-003',
      'The PinPad stopped answering in the middle of a command: the cable was pulled or the device lost power. Reconnect it and run the test again.',
      this.lost,
    );
  }

  /** Next decoder event, or null when `ms` pass (or the transport closes: check `lost`). */
  private async next(ms: number, signal?: AbortSignal): Promise<AbecsEvent | null> {
    const queued = this.queue.shift();
    if (queued) return queued;
    if (!this.attached)
      throw this.fail(
        'DIAG-LINK-001',
        'The connection to the PinPad was closed before it answered. Connect again and retry.',
      );
    if (this.lost) return null;
    if (signal?.aborted) throw new Aborted();
    return new Promise<AbecsEvent | null>((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        this.waiter = null;
        reject(new Aborted());
      };
      const timer = setTimeout(
        () => {
          cleanup();
          this.waiter = null;
          resolve(null);
        },
        Math.max(0, ms),
      );
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = {
        resolve: (e) => {
          cleanup();
          resolve(e);
        },
      };
    });
  }

  private async write(bytes: Uint8Array): Promise<void> {
    if (this.lost) throw this.lostError();
    this.record('tx', bytes);
    try {
      await this.transport.write(bytes);
    } catch (error) {
      this.lost = error as TransportError;
      throw this.lostError();
    }
  }

  /** Spec 2.2.3: after an error, throw away everything until the line has been quiet for 500 ms. */
  private async discardUntilSilence(): Promise<boolean> {
    const started = Date.now();
    this.lastByteAt = Date.now();
    this.queue = [];
    for (;;) {
      const quietFor = Date.now() - this.lastByteAt;
      if (quietFor >= this.timings.silenceMs) break;
      if (Date.now() - started > this.timings.maxDiscardMs) return false;
      await new Promise((r) => setTimeout(r, Math.min(50, this.timings.silenceMs - quietFor)));
      if (this.lost) throw this.lostError();
    }
    this.queue = [];
    this.decoder.reset();
    return true;
  }

  /**
   * Sends one command (PKTDATA, e.g. "OPN" or "GIX006…") and returns the final response's PKTDATA.
   * Throws `DriverError` (DIAG-LINK-001/002/003) or, when `signal` aborts, the signal's reason
   * after cancelling the command on the PinPad.
   */
  async command(data: Uint8Array | string, options: AbecsCommandOptions = {}): Promise<Uint8Array> {
    if (this.busy) throw new Error('AbecsLink: one command at a time');
    this.busy = true;
    this.frames = [];
    this.prepare();
    try {
      return await this.exchange(typeof data === 'string' ? latin1(data) : data, options);
    } catch (error) {
      if (error instanceof Aborted) {
        await this.cancel().catch(() => false);
        throw options.signal?.reason ?? new Error('aborted');
      }
      throw error;
    } finally {
      this.busy = false;
    }
  }

  private async exchange(data: Uint8Array, options: AbecsCommandOptions): Promise<Uint8Array> {
    const frame = encodeAbecsFrame(data);
    const name = fromLatin1(data.subarray(0, 3));
    // Stale bytes from before this command (a late answer, noise) must not be taken as its reply.
    this.queue = [];
    if (this.decoder.inFrame) this.decoder.reset();

    // 2.2.2.1: command, then ACK or NAK within 2 s; resend on NAK, up to 3 tries.
    let acked = false;
    for (let attempt = 1; attempt <= this.timings.maxTries && !acked; attempt++) {
      await this.write(frame);
      const deadline = Date.now() + this.timings.ackTimeoutMs;
      for (;;) {
        const event = await this.next(deadline - Date.now(), options.signal);
        if (event === null) {
          if (this.lost) throw this.lostError();
          throw this.fail(
            'DIAG-LINK-001',
            `The PinPad did not acknowledge the ${name} command within ${this.timings.ackTimeoutMs / 1000} s. Check that the cable is seated and the PinPad is switched on, then try again.`,
          );
        }
        if (event.type === 'control' && event.byte === ABECS.ACK) {
          acked = true;
          break;
        }
        if (event.type === 'control' && event.byte === ABECS.NAK) break;
        // Anything else here (noise, a stray frame) is not an answer to this command.
      }
    }
    if (!acked) {
      throw this.fail(
        'DIAG-LINK-002',
        `The PinPad rejected the ${name} command ${this.timings.maxTries} times (checksum errors on the line). Try another cable or USB port.`,
      );
    }

    // 2.2.2.2: the response (after any NTM notifications); NAK a damaged one, up to 3 times.
    const overall = options.timeoutMs ?? this.timings.responseTimeoutMs;
    const deadline = Date.now() + overall;
    let badResponses = 0;
    for (;;) {
      // Wake at least every inter-byte period: a packet that started and then stalls is a device
      // that went away mid-answer (spec 2.2.3 waits up to 2 s for each byte of a packet).
      const wait = Math.max(0, Math.min(deadline - Date.now(), this.timings.interByteTimeoutMs));
      const event = await this.next(wait, options.signal);
      if (event === null) {
        if (this.lost) throw this.lostError();
        if (this.decoder.inFrame) {
          if (Date.now() - this.lastByteAt >= this.timings.interByteTimeoutMs) throw this.lostError();
          continue;
        }
        if (deadline > Date.now()) continue;
        throw this.fail(
          'DIAG-LINK-001',
          `The PinPad accepted the ${name} command but sent no answer within ${Math.round(overall / 1000)} s. Restart the PinPad and try again.`,
        );
      }
      if (event.type === 'frame') {
        const text = fromLatin1(event.data.subarray(0, 3));
        if (text === 'NTM') {
          options.onNotification?.(parseNotification(event.data));
          continue;
        }
        return event.data;
      }
      if (event.type === 'bad_frame') {
        badResponses++;
        if (badResponses >= this.timings.maxTries) {
          throw this.fail(
            'DIAG-LINK-002',
            `The PinPad's answer to ${name} arrived damaged ${badResponses} times (checksum errors). Try another cable or USB port; if it repeats, the PinPad's serial interface may be faulty.`,
          );
        }
        if (!(await this.discardUntilSilence())) {
          throw this.fail(
            'DIAG-LINK-002',
            'The line never went quiet after a damaged answer: there is constant noise on it. Try another cable or port.',
          );
        }
        await this.write(Uint8Array.of(ABECS.NAK));
      }
      // Control bytes or noise while waiting for the response are ignored.
    }
  }

  /**
   * 2.2.2.3: CAN, then EOT within 2 s; up to 3 tries (`tries`); other bytes meanwhile are ignored. Resolves
   * true when the PinPad confirmed. Also the way to start a session on a PinPad in an unknown state.
   */
  async cancel(tries = this.timings.maxTries): Promise<boolean> {
    this.prepare();
    for (let attempt = 1; attempt <= tries; attempt++) {
      this.queue = [];
      await this.write(Uint8Array.of(ABECS.CAN));
      const deadline = Date.now() + this.timings.eotTimeoutMs;
      for (;;) {
        const event = await this.next(deadline - Date.now());
        if (event === null) {
          if (this.lost) throw this.lostError();
          break;
        }
        if (event.type === 'control' && event.byte === ABECS.EOT) {
          this.decoder.reset();
          this.queue = [];
          return true;
        }
      }
    }
    return false;
  }

  /** The frames of the last command (for a result's `frames` when it failed without throwing). */
  lastFrames(): FrameLogEntry[] {
    return [...this.frames];
  }
}

/** NTM_MSG: up to 32 characters (2 × 16) after "NTM000" + length (spec 2.3.3). */
function parseNotification(data: Uint8Array): string {
  const text = fromLatin1(data);
  const len = Number.parseInt(text.slice(6, 9), 10);
  const body = Number.isFinite(len) ? text.slice(9, 9 + len) : text.slice(9);
  return body.trimEnd();
}
