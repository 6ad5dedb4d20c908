/**
 * ABECS PinPad link-layer framing (ABECS "Pinpad Abecs" specification 2.x, section 2.2 "Nível de
 * Enlace"; packet layout in 2.2.1, CRC algorithm in 7.2).
 *
 *   SYN(0x16) · PKTDATA (escaped) · ETB(0x17) · CRC-16 (2 bytes, most significant first)
 *
 * - The CRC is CRC-16/XMODEM (poly 0x1021, init 0x0000, no reflection) over the *unescaped*
 *   PKTDATA followed by the ETB byte (2.2.1, 7.2). The CRC bytes themselves travel unescaped: the
 *   receiver reads exactly two bytes after ETB (flow chart in 2.2.3).
 * - Inside PKTDATA the bytes DC3 0x13, SYN 0x16 and ETB 0x17 are sent as DC3 followed by the byte
 *   plus 0x20 (2.2.1), so SYN/ETB never appear inside a packet and a receiver can resynchronise.
 * - The unescaped PKTDATA is at most 2049 bytes (2.2.1).
 *
 * Pure `encodeAbecsFrame` / `AbecsDecoder` here; the ACK/NAK/CAN link behaviour lives in
 * `drivers/abecs-link.ts`. The decoder is incremental, never throws on any input and never holds on
 * to bytes it can already judge, so a garbage stream cannot stall it.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const ABECS = {
  EOT: 0x04,
  ACK: 0x06,
  DC3: 0x13,
  NAK: 0x15,
  SYN: 0x16,
  ETB: 0x17,
  CAN: 0x18,
} as const;

/** Largest unescaped PKTDATA (spec 2.2.1). */
export const ABECS_MAX_DATA = 2049;

/** CRC-16/XMODEM: poly 0x1021, init 0, MSB first, no final XOR (spec 7.2). */
export function crc16Xmodem(bytes: Uint8Array, init = 0): number {
  let crc = init & 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Table-driven variant used on the hot path (same result as `crc16Xmodem`). */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) table[n] = crc16Xmodem(Uint8Array.of(n));
  return table;
})();

function crcUpdate(crc: number, byte: number): number {
  return ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ byte) & 0xff] as number);
}

function needsEscape(b: number): boolean {
  return b === ABECS.DC3 || b === ABECS.SYN || b === ABECS.ETB;
}

export class AbecsFrameTooLargeError extends RangeError {
  constructor(length: number) {
    super(`ABECS packet data is ${length} bytes; the link allows at most ${ABECS_MAX_DATA} (spec 2.2.1).`);
    this.name = 'AbecsFrameTooLargeError';
  }
}

/** Builds one packet around `data` (unescaped PKTDATA). Throws only if `data` is over 2049 bytes. */
export function encodeAbecsFrame(data: Uint8Array): Uint8Array {
  if (data.length > ABECS_MAX_DATA) throw new AbecsFrameTooLargeError(data.length);
  let escapes = 0;
  for (const b of data) if (needsEscape(b)) escapes++;
  const out = new Uint8Array(1 + data.length + escapes + 1 + 2);
  let o = 0;
  let crc = 0;
  out[o++] = ABECS.SYN;
  for (const b of data) {
    crc = crcUpdate(crc, b);
    if (needsEscape(b)) {
      out[o++] = ABECS.DC3;
      out[o++] = b + 0x20;
    } else {
      out[o++] = b;
    }
  }
  crc = crcUpdate(crc, ABECS.ETB);
  out[o++] = ABECS.ETB;
  out[o++] = crc >> 8;
  out[o] = crc & 0xff;
  return out;
}

/** Encodes an ASCII/latin-1 string payload (command ids and numeric fields are ASCII). */
export function encodeAbecsText(text: string): Uint8Array {
  return encodeAbecsFrame(latin1(text));
}

export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export function fromLatin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** What the decoder recognised in the byte stream, in order. */
export type AbecsEvent =
  /** A whole packet whose CRC matched; `data` is the unescaped PKTDATA. */
  | { type: 'frame'; data: Uint8Array; raw: Uint8Array }
  /** A packet that ended but failed (bad CRC, bad escape, too long); the link layer answers NAK. */
  | { type: 'bad_frame'; reason: 'crc' | 'escape' | 'too_long' | 'truncated'; raw: Uint8Array }
  /** A single control byte outside a packet: ACK, NAK, EOT or CAN. */
  | { type: 'control'; byte: number }
  /** Bytes outside any packet that mean nothing (line noise); reported so they can be logged. */
  | { type: 'noise'; raw: Uint8Array };

/** Longest raw packet kept for logs: every data byte escaped, plus SYN, ETB and CRC. */
const RAW_CAP = 2 * ABECS_MAX_DATA + 4;

type State = 'idle' | 'data' | 'escape' | 'crc1' | 'crc2' | 'overflow';

/**
 * Incremental decoder. Feed it any chunks; it returns the events completed by that chunk. It keeps
 * at most one partial packet (bounded by the 2049-byte limit), so arbitrary input cannot grow it.
 */
export class AbecsDecoder {
  private state: State = 'idle';
  private data = new Uint8Array(ABECS_MAX_DATA);
  private length = 0;
  private crc = 0;
  private escapeError = false;
  private received = 0;
  private raw: number[] = [];
  private noise: number[] = [];

  /** True while a packet has started but not ended (used by the link layer's silence timer). */
  get inFrame(): boolean {
    return this.state !== 'idle';
  }

  /** Raw bytes of the packet in progress (for logs when a packet never completes). */
  get partial(): Uint8Array {
    return this.state === 'idle' ? new Uint8Array(0) : Uint8Array.from(this.raw);
  }

  reset(): void {
    this.state = 'idle';
    this.length = 0;
    this.crc = 0;
    this.escapeError = false;
    this.raw = [];
    this.noise = [];
  }

  push(chunk: Uint8Array): AbecsEvent[] {
    const events: AbecsEvent[] = [];
    for (const b of chunk) this.step(b, events);
    this.flushNoise(events);
    return events;
  }

  private flushNoise(events: AbecsEvent[]): void {
    if (this.noise.length > 0) {
      events.push({ type: 'noise', raw: Uint8Array.from(this.noise) });
      this.noise = [];
    }
  }

  private startFrame(events: AbecsEvent[]): void {
    this.flushNoise(events);
    this.state = 'data';
    this.length = 0;
    this.crc = 0;
    this.escapeError = false;
    this.raw = [ABECS.SYN];
  }

  private step(b: number, events: AbecsEvent[]): void {
    switch (this.state) {
      case 'idle':
        if (b === ABECS.SYN) this.startFrame(events);
        else if (b === ABECS.ACK || b === ABECS.NAK || b === ABECS.EOT || b === ABECS.CAN) {
          this.flushNoise(events);
          events.push({ type: 'control', byte: b });
        } else {
          this.noise.push(b);
          if (this.noise.length >= 4096) this.flushNoise(events);
        }
        return;
      case 'data':
      case 'overflow':
        if (b === ABECS.SYN) {
          // A SYN can never appear inside a packet (2.2.1): the previous packet was cut short.
          // Restart on this byte rather than lose the packet that is beginning now.
          events.push({ type: 'bad_frame', reason: 'truncated', raw: Uint8Array.from(this.raw) });
          this.startFrame(events);
          return;
        }
        // The raw copy is only for logs; capped so an endless unterminated packet stays bounded.
        if (this.raw.length < RAW_CAP) this.raw.push(b);
        if (b === ABECS.ETB) {
          this.state = 'crc1';
          return;
        }
        if (this.state === 'overflow') return;
        if (b === ABECS.DC3) {
          this.state = 'escape';
          return;
        }
        this.append(b);
        return;
      case 'escape': {
        if (b === ABECS.SYN) {
          events.push({ type: 'bad_frame', reason: 'truncated', raw: Uint8Array.from(this.raw) });
          this.startFrame(events);
          return;
        }
        this.raw.push(b);
        if (b === ABECS.ETB) {
          this.escapeError = true;
          this.state = 'crc1';
          return;
        }
        const original = b - 0x20;
        if (!needsEscape(original)) this.escapeError = true;
        this.state = 'data';
        this.append(original & 0xff);
        return;
      }
      case 'crc1':
        this.raw.push(b);
        this.received = b << 8;
        this.state = 'crc2';
        return;
      case 'crc2': {
        this.raw.push(b);
        this.received |= b;
        const raw = Uint8Array.from(this.raw);
        const overflowed = this.length > ABECS_MAX_DATA;
        const crc = crcUpdate(this.crc, ABECS.ETB);
        if (overflowed) events.push({ type: 'bad_frame', reason: 'too_long', raw });
        else if (this.escapeError) events.push({ type: 'bad_frame', reason: 'escape', raw });
        else if (crc !== this.received) events.push({ type: 'bad_frame', reason: 'crc', raw });
        else events.push({ type: 'frame', data: this.data.slice(0, this.length), raw });
        this.state = 'idle';
        this.length = 0;
        this.raw = [];
        return;
      }
    }
  }

  private append(b: number): void {
    if (this.length >= ABECS_MAX_DATA) {
      // Keep counting so the frame is reported too long once it ends, but stop buffering.
      this.length = ABECS_MAX_DATA + 1;
      this.state = 'overflow';
      return;
    }
    this.data[this.length++] = b;
    this.crc = crcUpdate(this.crc, b);
  }
}

/** Decodes a whole buffer in one go (tests, logs). */
export function decodeAbecs(bytes: Uint8Array): AbecsEvent[] {
  return new AbecsDecoder().push(bytes);
}

/**
 * Thin stream wrapper in the style of node-serialport's parsers: bytes in, `AbecsEvent` objects
 * out (object mode on the readable side).
 */
export class AbecsParser extends Transform {
  private readonly decoder = new AbecsDecoder();

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const event of this.decoder.push(chunk)) this.push(event);
    callback();
  }
}
