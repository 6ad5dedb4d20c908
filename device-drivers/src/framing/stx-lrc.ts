/**
 * STX/ETX/LRC framing: the "Visa II"-style link used by the UIC PP791 PIN pad (PIN Pad 791
 * Programmer's Manual, UDN PM0103-U Rev. 06, §5 "Administration and maintenance messages" and the
 * message-flow tables of §5/§9) and by PAX POSLink-style terminals whose payloads are FS-separated
 * fields.
 *
 * Wire format (our reading of the manual, not its text):
 *   data frame   STX 0x02 · payload · ETX 0x03 · LRC
 *   admin frame  SI  0x0F · payload · SO  0x0E · LRC
 *   LRC = XOR of every byte after the start byte up to and including the end byte.
 *   Single control bytes: ACK 0x06, NAK 0x15, EOT 0x04.
 *
 * Link rules (§5 message flow): the receiver answers a good frame with ACK and a bad LRC with NAK;
 * the sender resends after a NAK or after 5 s of silence, and gives up with EOT after 3 NAKs.
 *
 * Lines: 8N1, or 7E1. On a 7E1 line the UART normally strips the parity bit (mode '7E1'); when a
 * 7E1 device is wired to a port that can only do 8 bits, the 8th bit of every byte is the even
 * parity bit and we compute/validate it in software (mode '7E1-soft'). The LRC is computed over the
 * 7-bit characters, never over the parity bits.
 *
 * Layout follows node-serialport: a pure encode/decode pair, an incremental decoder that never
 * throws on garbage and never stalls, and a thin stream Transform.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { Transport, TransportError } from '../transport/transport.ts';

export const STX = 0x02;
export const ETX = 0x03;
export const EOT = 0x04;
export const ACK = 0x06;
export const NAK = 0x15;
export const SO = 0x0e;
export const SI = 0x0f;
/** Field separator between PAX POSLink-style / PP791 fields. */
export const FS = 0x1c;

/** 'data' = STX…ETX, 'admin' = SI…SO. */
export type StxFrameKind = 'data' | 'admin';
export type StxLineMode = '8N1' | '7E1' | '7E1-soft';

/** Longest payload we accept before declaring the frame broken (PP791 frames stay far below this). */
export const STX_MAX_PAYLOAD = 1024;

const START_OF: Record<StxFrameKind, number> = { data: STX, admin: SI };
const END_OF: Record<StxFrameKind, number> = { data: ETX, admin: SO };
const RESERVED = new Set([STX, ETX, SI, SO]);

/** XOR of all bytes (the block check character). */
export function lrc(bytes: Uint8Array, initial = 0): number {
  let acc = initial;
  for (const b of bytes) acc ^= b;
  return acc & 0xff;
}

/** Sets bit 7 so that the byte's 8 bits have even parity (7E1 carried on an 8-bit port). */
export function withEvenParity(char7: number): number {
  let ones = 0;
  for (let v = char7 & 0x7f; v !== 0; v >>= 1) ones += v & 1;
  return (char7 & 0x7f) | (ones % 2 === 1 ? 0x80 : 0);
}

function hasEvenParity(byte: number): boolean {
  let ones = 0;
  for (let v = byte & 0xff; v !== 0; v >>= 1) ones += v & 1;
  return ones % 2 === 0;
}

/** Which payloads can be framed: no start/end bytes inside, and 7-bit only on 7E1 lines. */
export function isFramablePayload(payload: Uint8Array, mode: StxLineMode = '8N1'): boolean {
  for (const b of payload) {
    if (RESERVED.has(b)) return false;
    if (mode !== '8N1' && b > 0x7f) return false;
  }
  return true;
}

/**
 * Builds one frame. Throws RangeError for a payload that cannot be framed (it would contain its
 * own terminator); callers build payloads from ASCII fields, so this is a programming error.
 */
export function encodeStxFrame(
  kind: StxFrameKind,
  payload: Uint8Array,
  mode: StxLineMode = '8N1',
): Uint8Array {
  if (payload.length > STX_MAX_PAYLOAD)
    throw new RangeError(`STX payload of ${payload.length} bytes exceeds ${STX_MAX_PAYLOAD}`);
  if (!isFramablePayload(payload, mode)) {
    throw new RangeError(
      'STX payload contains a framing byte (STX/ETX/SI/SO) or, on a 7-bit line, a byte above 0x7F',
    );
  }
  const out = new Uint8Array(payload.length + 3);
  out[0] = START_OF[kind];
  out.set(payload, 1);
  out[payload.length + 1] = END_OF[kind];
  out[payload.length + 2] = lrc(out.subarray(1, payload.length + 2));
  return mode === '7E1-soft' ? out.map(withEvenParity) : out;
}

/** One control byte (ACK/NAK/EOT) as it goes on the wire in the given line mode. */
export function encodeStxControl(control: StxControl, mode: StxLineMode = '8N1'): Uint8Array {
  const byte = control === 'ack' ? ACK : control === 'nak' ? NAK : EOT;
  return Uint8Array.of(mode === '7E1-soft' ? withEvenParity(byte) : byte);
}

/** Payload helpers for FS-separated ASCII fields (PAX POSLink style, PP791 message 1C). */
export function asciiPayload(...fields: string[]): Uint8Array {
  return new TextEncoder().encode(fields.join(String.fromCharCode(FS)));
}
export function splitFields(payload: Uint8Array): string[] {
  return new TextDecoder('latin1').decode(payload).split(String.fromCharCode(FS));
}

export type StxControl = 'ack' | 'nak' | 'eot';

export type StxEvent =
  | { type: 'frame'; kind: StxFrameKind; payload: Uint8Array; raw: Uint8Array }
  | { type: 'control'; control: StxControl; raw: Uint8Array }
  /** A frame that arrived damaged: the receiver answers it with NAK. */
  | {
      type: 'bad_frame';
      kind: StxFrameKind;
      reason: 'lrc' | 'parity' | 'too_long' | 'interrupted';
      raw: Uint8Array;
    }
  /** Bytes outside any frame (line noise, a partner speaking another protocol). */
  | { type: 'noise'; raw: Uint8Array };

export interface StxDecoderOptions {
  mode?: StxLineMode;
  maxPayload?: number;
}

type DecoderState = 'idle' | 'payload' | 'lrc';

/** Even-parity lookup: true when the byte has an even number of set bits. */
const EVEN_PARITY = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = hasEvenParity(b) ? 1 : 0;
  return table;
})();

/**
 * Incremental decoder. `push()` takes any chunk and returns the events it completes; partial frames
 * wait for the next chunk. It never throws: a start byte inside a frame restarts framing (the
 * previous frame is reported as interrupted), an over-long frame is dropped, and everything else is
 * reported as noise, so a stream of random bytes can never wedge it.
 *
 * The frame being collected lives in one preallocated buffer with a running LRC, so decoding costs
 * a few operations per byte (the drivers benchmark holds codecs to 1000× the wire rate).
 */
export class StxDecoder {
  readonly mode: StxLineMode;
  private readonly maxPayload: number;
  private state: DecoderState = 'idle';
  private kind: StxFrameKind = 'data';
  /** Raw bytes of the frame being collected (start byte, payload, end byte, LRC as on the wire). */
  private readonly raw: Uint8Array;
  private rawLength = 0;
  /** Decoded (7-bit where applicable) payload bytes. */
  private readonly payload: Uint8Array;
  private payloadLength = 0;
  private runningLrc = 0;
  private parityError = false;
  private noise: number[] = [];

  constructor(options: StxDecoderOptions = {}) {
    this.mode = options.mode ?? '8N1';
    this.maxPayload = options.maxPayload ?? STX_MAX_PAYLOAD;
    this.raw = new Uint8Array(this.maxPayload + 3);
    this.payload = new Uint8Array(this.maxPayload);
  }

  /** Bytes held for an unfinished frame (for tests and diagnostics). */
  get pendingBytes(): number {
    return this.rawLength + this.noise.length;
  }

  reset(): void {
    this.startIdle();
    this.noise = [];
  }

  push(chunk: Uint8Array): StxEvent[] {
    const events: StxEvent[] = [];
    for (let i = 0; i < chunk.length; i++) this.step(chunk[i] as number, events);
    this.flushNoise(events);
    return events;
  }

  private flushNoise(events: StxEvent[]): void {
    if (this.noise.length > 0) {
      events.push({ type: 'noise', raw: Uint8Array.from(this.noise) });
      this.noise = [];
    }
  }

  private rawCopy(): Uint8Array {
    return this.raw.slice(0, this.rawLength);
  }

  private step(wire: number, events: StxEvent[]): void {
    let byte = wire;
    let parityOk = true;
    if (this.mode === '7E1-soft') {
      parityOk = EVEN_PARITY[wire] === 1;
      byte = wire & 0x7f;
    } else if (this.mode === '7E1') {
      // The UART already checked parity; a set 8th bit can only be a framing/speed mismatch.
      parityOk = (wire & 0x80) === 0;
      byte = wire & 0x7f;
    }

    if (this.state === 'lrc') {
      this.raw[this.rawLength++] = wire;
      const raw = this.rawCopy();
      if (!parityOk || this.parityError) {
        events.push({ type: 'bad_frame', kind: this.kind, reason: 'parity', raw });
      } else if (byte !== this.runningLrc) {
        events.push({ type: 'bad_frame', kind: this.kind, reason: 'lrc', raw });
      } else {
        events.push({
          type: 'frame',
          kind: this.kind,
          payload: this.payload.slice(0, this.payloadLength),
          raw,
        });
      }
      this.startIdle();
      return;
    }

    if (byte === STX || byte === SI) {
      if (this.state === 'payload') {
        events.push({ type: 'bad_frame', kind: this.kind, reason: 'interrupted', raw: this.rawCopy() });
      }
      this.flushNoise(events);
      this.state = 'payload';
      this.kind = byte === STX ? 'data' : 'admin';
      this.raw[0] = wire;
      this.rawLength = 1;
      this.payloadLength = 0;
      this.runningLrc = 0;
      this.parityError = !parityOk;
      return;
    }

    if (this.state === 'idle') {
      const control: StxControl | null =
        byte === ACK ? 'ack' : byte === NAK ? 'nak' : byte === EOT ? 'eot' : null;
      if (control !== null && parityOk) {
        this.flushNoise(events);
        events.push({ type: 'control', control, raw: Uint8Array.of(wire) });
      } else {
        this.noise.push(wire);
      }
      return;
    }

    // state === 'payload'
    this.raw[this.rawLength++] = wire;
    if (!parityOk) this.parityError = true;
    this.runningLrc ^= byte;
    if (byte === END_OF[this.kind]) {
      this.state = 'lrc';
      return;
    }
    if (byte === END_OF[this.kind === 'data' ? 'admin' : 'data']) {
      // The other frame type's terminator cannot appear in a payload: the frame is broken.
      events.push({ type: 'bad_frame', kind: this.kind, reason: 'interrupted', raw: this.rawCopy() });
      this.startIdle();
      return;
    }
    if (this.payloadLength >= this.maxPayload) {
      events.push({ type: 'bad_frame', kind: this.kind, reason: 'too_long', raw: this.rawCopy() });
      this.startIdle();
      return;
    }
    this.payload[this.payloadLength++] = byte;
  }

  private startIdle(): void {
    this.state = 'idle';
    this.rawLength = 0;
    this.payloadLength = 0;
    this.runningLrc = 0;
    this.parityError = false;
  }
}

/** Pure decode of a complete byte sequence (the counterpart of `encodeStxFrame`). */
export function decodeStx(bytes: Uint8Array, options: StxDecoderOptions = {}): StxEvent[] {
  return new StxDecoder(options).push(bytes);
}

/** Thin stream wrapper: bytes in, `StxEvent` objects out. */
export class StxParser extends Transform {
  private readonly decoder: StxDecoder;

  constructor(options: StxDecoderOptions = {}) {
    super({ readableObjectMode: true });
    this.decoder = new StxDecoder(options);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const event of this.decoder.push(chunk)) this.push(event);
    callback();
  }
}

// ---------------------------------------------------------------------------------------------
// Host side of the link (PP791 manual §5 message flow): send, wait for ACK (resend on NAK or after
// silence, EOT after 3 NAKs), then receive the answer (ACK it, NAK a bad LRC, EOT after 3 bad
// ones), then swallow the device's closing EOT.
// ---------------------------------------------------------------------------------------------

export type StxLinkFailure =
  /** No ACK/NAK after every try (device silent or not speaking this protocol). */
  | 'no_ack'
  /** The device NAKed our frame 3 times (line noise, wrong parity/speed). */
  | 'nak_limit'
  /** The device ACKed but never answered. */
  | 'no_response'
  /** Every answer arrived with a bad LRC/parity. */
  | 'bad_response'
  /** The port went away (unplugged, closed). */
  | 'transport';

export class StxLinkError extends Error {
  constructor(
    readonly failure: StxLinkFailure,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StxLinkError';
  }
}

export interface StxLinkOptions {
  mode?: StxLineMode;
  /** Silence after a frame before resending it (manual: 5 s). */
  ackTimeoutMs?: number;
  /** Tries of one frame when the device stays silent (first send included). */
  maxTries?: number;
  /** NAKs that end the exchange with EOT (manual: 3). */
  maxNaks?: number;
  /** How long the device may think after its ACK before we call it gone. */
  responseTimeoutMs?: number;
  /** How long to wait for the device's closing EOT after we ACK its answer. */
  eotTimeoutMs?: number;
}

export type StxExchange =
  | { outcome: 'answered'; kind: StxFrameKind; payload: Uint8Array }
  /** The device ACKed and then answered EOT: it refused or does not know the message. */
  | { outcome: 'declined' };

export interface StxWireLog {
  (direction: 'tx' | 'rx', bytes: Uint8Array): void;
}

type Waiter = {
  accept(event: StxEvent): boolean;
  fail(error: StxLinkError): void;
};

/**
 * One exchange at a time over a `Transport`. Every byte in both directions is reported to the
 * per-exchange `log` so the diagnostics runner can attach raw frames to the step.
 */
export class StxLink {
  readonly mode: StxLineMode;
  private readonly ackTimeoutMs: number;
  private readonly maxTries: number;
  private readonly maxNaks: number;
  private readonly responseTimeoutMs: number;
  private readonly eotTimeoutMs: number;
  private readonly decoder: StxDecoder;
  private waiter: Waiter | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private log: StxWireLog = () => {};
  private lost: TransportError | null = null;
  /** Events not yet consumed: an answer may arrive before the code that waits for it resumes. */
  private inbox: StxEvent[] = [];
  private readonly onData = (chunk: Uint8Array): void => {
    for (const event of this.decoder.push(chunk)) {
      this.log('rx', event.raw);
      this.inbox.push(event);
    }
    this.pump();
  };
  private readonly onClose = (error?: TransportError): void => {
    this.lost = error ?? null;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.fail(
      new StxLinkError('transport', error?.message ?? 'The port was closed during the exchange.', error),
    );
  };

  constructor(
    private readonly transport: Transport,
    options: StxLinkOptions = {},
  ) {
    this.mode = options.mode ?? '8N1';
    this.ackTimeoutMs = options.ackTimeoutMs ?? 5000;
    this.maxTries = options.maxTries ?? 3;
    this.maxNaks = options.maxNaks ?? 3;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 10_000;
    this.eotTimeoutMs = options.eotTimeoutMs ?? 1000;
    this.decoder = new StxDecoder({ mode: this.mode });
    transport.on('data', this.onData);
    transport.on('close', this.onClose);
  }

  /** Stops listening to the transport (does not close it). */
  dispose(): void {
    this.transport.off('data', this.onData);
    this.transport.off('close', this.onClose);
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.fail(new StxLinkError('transport', 'The link was closed.'));
  }

  /**
   * Drops whatever arrives for `ms` (queued behind running exchanges). Used right after opening a
   * port: bytes a device sent while nobody listened (a late answer to a previous session) must not
   * be taken for the answer to our first command.
   */
  discardInput(ms: number): Promise<void> {
    const run = this.queue.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      this.inbox = [];
      this.decoder.reset();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs one request/answer exchange; exchanges queue behind each other. */
  exchange(
    kind: StxFrameKind,
    payload: Uint8Array,
    options: {
      signal?: AbortSignal;
      log?: StxWireLog;
      responseTimeoutMs?: number;
      ackTimeoutMs?: number;
      maxTries?: number;
    } = {},
  ): Promise<StxExchange> {
    const run = this.queue.then(() => this.runExchange(kind, payload, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runExchange(
    kind: StxFrameKind,
    payload: Uint8Array,
    options: {
      signal?: AbortSignal;
      log?: StxWireLog;
      responseTimeoutMs?: number;
      ackTimeoutMs?: number;
      maxTries?: number;
    },
  ): Promise<StxExchange> {
    this.log = options.log ?? (() => {});
    this.inbox = []; // anything left over belongs to an exchange that is finished
    const signal = options.signal;
    const ackTimeoutMs = options.ackTimeoutMs ?? this.ackTimeoutMs;
    const maxTries = options.maxTries ?? this.maxTries;
    try {
      signal?.throwIfAborted();
      if (!this.transport.isOpen)
        throw new StxLinkError('transport', this.lost?.message ?? 'The port is not open.', this.lost);
      const frame = encodeStxFrame(kind, payload, this.mode);

      // Phase 1: get our frame acknowledged.
      let tries = 0;
      let naks = 0;
      let early: StxEvent | null = null;
      for (;;) {
        tries += 1;
        await this.send(frame);
        const reply = await this.next(
          ackTimeoutMs,
          signal,
          (e) => e.type === 'control' || e.type === 'frame',
        );
        if (reply === null) {
          if (tries >= maxTries) {
            await this.sendControl('eot').catch(() => undefined);
            throw new StxLinkError('no_ack', `No acknowledgement after ${tries} tries.`);
          }
          continue;
        }
        if (reply.type === 'control' && reply.control === 'nak') {
          naks += 1;
          if (naks >= this.maxNaks) {
            await this.sendControl('eot').catch(() => undefined);
            throw new StxLinkError('nak_limit', `The device rejected the frame ${naks} times (NAK).`);
          }
          tries -= 1; // a NAK is an answer, not silence: it counts against the NAK budget only
          continue;
        }
        if (reply.type === 'control' && reply.control === 'eot') return { outcome: 'declined' };
        if (reply.type === 'frame') early = reply; // ACK lost on the wire, answer already here
        break;
      }

      // Phase 2: receive the answer.
      let badAnswers = 0;
      for (;;) {
        const answer =
          early ??
          (await this.next(
            options.responseTimeoutMs ?? this.responseTimeoutMs,
            signal,
            (e) =>
              e.type === 'frame' || e.type === 'bad_frame' || (e.type === 'control' && e.control === 'eot'),
          ));
        early = null;
        if (answer === null) {
          // Tell the device to drop the exchange, so a late answer cannot meet our next command.
          await this.sendControl('eot').catch(() => undefined);
          throw new StxLinkError('no_response', 'The device acknowledged the command but did not answer.');
        }
        if (answer.type === 'control') return { outcome: 'declined' };
        if (answer.type === 'bad_frame') {
          badAnswers += 1;
          if (badAnswers >= this.maxNaks) {
            await this.sendControl('eot').catch(() => undefined);
            throw new StxLinkError(
              'bad_response',
              `The device's answer failed its checksum ${badAnswers} times.`,
            );
          }
          await this.sendControl('nak');
          continue;
        }
        if (answer.type !== 'frame') continue;
        await this.sendControl('ack');
        // The device closes the exchange with EOT; wait for it so it cannot be mistaken for the
        // answer to our next command. A device that skips it costs us `eotTimeoutMs` once.
        // The answer is already complete, so a cancel arriving now does not undo it.
        await this.next(this.eotTimeoutMs, signal, (e) => e.type === 'control' && e.control === 'eot').catch(
          () => null,
        );
        return { outcome: 'answered', kind: answer.kind, payload: answer.payload };
      }
    } catch (error) {
      // A cancelled exchange tells the device to drop it too (EOT aborts the exchange, §5 flow).
      if (signal?.aborted === true && this.transport.isOpen)
        await this.sendControl('eot').catch(() => undefined);
      throw error;
    } finally {
      this.log = () => {};
    }
  }

  private async send(bytes: Uint8Array): Promise<void> {
    this.log('tx', bytes);
    try {
      await this.transport.write(bytes);
    } catch (error) {
      throw new StxLinkError(
        'transport',
        error instanceof Error ? error.message : 'Writing to the port failed.',
        error,
      );
    }
  }

  private sendControl(control: StxControl): Promise<void> {
    return this.send(encodeStxControl(control, this.mode));
  }

  private pump(): void {
    while (this.waiter !== null && this.inbox.length > 0) {
      const event = this.inbox.shift() as StxEvent;
      this.waiter.accept(event);
    }
  }

  /**
   * Resolves with the first event `want` accepts (events it does not want are dropped), or null
   * after `timeoutMs` of waiting.
   */
  private next(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    want: (event: StxEvent) => boolean,
  ): Promise<StxEvent | null> {
    return new Promise<StxEvent | null>((resolve, reject) => {
      if (!this.transport.isOpen) {
        reject(
          new StxLinkError(
            'transport',
            this.lost?.message ?? 'The port was closed during the exchange.',
            this.lost,
          ),
        );
        return;
      }
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (this.waiter === waiter) this.waiter = null;
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(null);
      }, timeoutMs);
      const waiter: Waiter = {
        accept: (event) => {
          if (!want(event)) return false;
          cleanup();
          resolve(event);
          return true;
        },
        fail: (error) => {
          cleanup();
          reject(error);
        },
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiter = waiter;
      this.pump();
    });
  }
}
