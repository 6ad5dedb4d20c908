/**
 * IDTech-style "ViVOtech2" protocol-2 frames (IDTech "NEO 2 Interface Developer's Guide":
 * §2.8 frame layouts, §3.4 "CRC Calculation").
 *
 *   command   "ViVOtech2\0" · command · sub-command · length MSB · length LSB · data · CRC LSB · CRC MSB
 *   response  "ViVOtech2\0" · command · status      · length MSB · length LSB · data · CRC MSB · CRC LSB
 *
 * The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) over the
 * whole frame from the header tag to the last data byte. Its byte order differs by direction: the
 * guide stores it little-endian in command frames (host → reader) and big-endian in response
 * frames (reader → host), which its ping sample confirms (command CRC bytes B3 CD, response FA 83).
 *
 * Over USB HID the frame is carried in fixed-size reports padded with zeros (§2.8.2); the HID
 * transport strips the report id and this decoder skips the padding as noise between frames.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const VIVOTECH2_HEADER = Uint8Array.from([...new TextEncoder().encode('ViVOtech2'), 0x00]);
const HEADER_LENGTH = VIVOTECH2_HEADER.length;
/** Header + command + sub/status + 2 length bytes. */
const FIXED_BEFORE_DATA = HEADER_LENGTH + 4;
export const VIVOTECH2_MAX_DATA = 4096;

export type VivoDirection = 'command' | 'response';

/** Common commands (guide §8): ping 18-01, get firmware version 29-00. */
export const VIVO_PING = { command: 0x18, subCommand: 0x01 } as const;
export const VIVO_GET_FIRMWARE_VERSION = { command: 0x29, subCommand: 0x00 } as const;
/** Activate Transaction (guide §8, 02-01): data = one byte, seconds to wait for a card. */
export const VIVO_ACTIVATE_TRANSACTION = { command: 0x02, subCommand: 0x01 } as const;
/** Cancel Transaction (guide §8, 05-01). */
export const VIVO_CANCEL_TRANSACTION = { command: 0x05, subCommand: 0x01 } as const;

/** POS entry mode (EMV tag 9F39) values the reader reports (guide, Activate Transaction TLVs). */
export const ENTRY_MODE = {
  0x90: 'swipe',
  0x80: 'swipe', // contact fallback to magnetic stripe
  0x91: 'contactless', // contactless MagStripe (MSD)
  0x07: 'contactless', // contactless EMV
  0x05: 'chip',
} as const satisfies Record<number, 'swipe' | 'contactless' | 'chip'>;

export interface ActivateTransactionResult {
  track1: string;
  track2: string;
  /** 9F39 value, when the reader sent it. */
  entryMode: number | null;
  tags: Map<string, Uint8Array>;
}

/**
 * Parses a BER-TLV list (EMV Book 3 Annex B: multi-byte tags when the low 5 bits are all set,
 * lengths in short or 81/82 long form). Returns null unless the bytes are exactly a TLV list.
 * Constructed tags (bit 6 of the first byte, e.g. FFEE01) are also descended into.
 */
export function parseTlv(
  bytes: Uint8Array,
  into: Map<string, Uint8Array> = new Map(),
): Map<string, Uint8Array> | null {
  let i = 0;
  while (i < bytes.length) {
    const tagStart = i;
    const first = bytes[i++] as number;
    if ((first & 0x1f) === 0x1f) {
      // Further tag bytes follow while their top bit is set.
      for (;;) {
        if (i >= bytes.length) return null;
        if (((bytes[i++] as number) & 0x80) === 0) break;
      }
    }
    const tag = Buffer.from(bytes.subarray(tagStart, i)).toString('hex').toUpperCase();
    if (i >= bytes.length) return null;
    let length = bytes[i++] as number;
    if (length === 0x81) {
      if (i >= bytes.length) return null;
      length = bytes[i++] as number;
    } else if (length === 0x82) {
      if (i + 2 > bytes.length) return null;
      length = ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
      i += 2;
    } else if (length > 0x7f) return null;
    if (i + length > bytes.length) return null;
    const value = bytes.slice(i, i + length);
    into.set(tag, value);
    if ((first & 0x20) !== 0 && parseTlv(value, into) === null) return null;
    i += length;
  }
  return into;
}

/**
 * Data of an OK answer to Activate Transaction: track 1 length + data, track 2 length + data,
 * then (depending on firmware) a track-3 length and/or a clearing-record flag byte, then TLVs.
 * We accept the variants by trying the TLV list after 0, 1 or 2 such bytes.
 */
export function parseActivateTransaction(data: Uint8Array): ActivateTransactionResult | null {
  const latin1 = new TextDecoder('latin1');
  let i = 0;
  const t1len = data[i++];
  if (t1len === undefined || i + t1len > data.length) return null;
  const track1 = latin1.decode(data.subarray(i, i + t1len));
  i += t1len;
  const t2len = data[i++];
  if (t2len === undefined || i + t2len > data.length) return null;
  const track2 = latin1.decode(data.subarray(i, i + t2len));
  i += t2len;
  let tags: Map<string, Uint8Array> | null = null;
  for (let skip = 0; skip <= 2 && tags === null && i + skip <= data.length; skip++)
    tags = parseTlv(data.subarray(i + skip));
  tags ??= new Map();
  const mode = tags.get('9F39');
  return { track1, track2, entryMode: mode && mode.length === 1 ? (mode[0] as number) : null, tags };
}

/** Response status codes (guide, "Status Code" table) the driver explains. */
export const VIVO_STATUS: Record<number, string> = {
  0x00: 'OK',
  0x01: 'Incorrect header tag',
  0x02: 'Unknown command',
  0x03: 'Unknown sub-command',
  0x04: 'CRC error in frame',
  0x05: 'Incorrect parameter',
  0x06: 'Parameter not supported',
  0x07: 'Mal-formatted data',
  0x08: 'Timeout',
  0x0a: 'Failed / NAK',
  0x0b: 'Command not allowed',
};

/** MSB-first table for polynomial 0x1021 (one lookup per byte instead of eight shifts). */
const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[n] = crc;
  }
  return table;
})();

/** CRC-16/CCITT-FALSE. Check value for "123456789" is 0x29B1. */
export function crc16CcittFalse(bytes: Uint8Array, initial = 0xffff): number {
  let crc = initial;
  for (let i = 0; i < bytes.length; i++)
    crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}

function build(direction: VivoDirection, command: number, second: number, data: Uint8Array): Uint8Array {
  if (data.length > VIVOTECH2_MAX_DATA)
    throw new RangeError(`ViVOtech2 data of ${data.length} bytes exceeds ${VIVOTECH2_MAX_DATA}`);
  const out = new Uint8Array(FIXED_BEFORE_DATA + data.length + 2);
  out.set(VIVOTECH2_HEADER, 0);
  out[HEADER_LENGTH] = command & 0xff;
  out[HEADER_LENGTH + 1] = second & 0xff;
  out[HEADER_LENGTH + 2] = (data.length >> 8) & 0xff;
  out[HEADER_LENGTH + 3] = data.length & 0xff;
  out.set(data, FIXED_BEFORE_DATA);
  const crc = crc16CcittFalse(out.subarray(0, FIXED_BEFORE_DATA + data.length));
  const [first, last] = direction === 'command' ? [crc & 0xff, crc >> 8] : [crc >> 8, crc & 0xff];
  out[out.length - 2] = first;
  out[out.length - 1] = last;
  return out;
}

/** Host → reader. */
export function encodeVivoCommand(
  command: number,
  subCommand: number,
  data: Uint8Array = new Uint8Array(),
): Uint8Array {
  return build('command', command, subCommand, data);
}

/** Reader → host (the simulator uses it). */
export function encodeVivoResponse(
  command: number,
  status: number,
  data: Uint8Array = new Uint8Array(),
): Uint8Array {
  return build('response', command, status, data);
}

export type VivoEvent =
  /** `code` is the sub-command in a command frame, the status in a response frame. */
  | { type: 'frame'; command: number; code: number; data: Uint8Array; raw: Uint8Array }
  | { type: 'bad_crc'; raw: Uint8Array }
  | { type: 'noise'; raw: Uint8Array };

/**
 * Incremental decoder for frames travelling in one direction. Never throws; after a bad CRC it
 * rescans from the byte after the false header, so a real frame hidden behind a corrupt one is
 * still found, and bytes that cannot start a header are released as noise at once.
 */
export class VivoDecoder {
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(
    readonly direction: VivoDirection,
    private readonly maxData = VIVOTECH2_MAX_DATA,
  ) {}

  get pendingBytes(): number {
    return this.buffer.length;
  }

  push(chunk: Uint8Array): VivoEvent[] {
    let joined: Uint8Array;
    if (this.buffer.length === 0) joined = chunk;
    else {
      joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer, 0);
      joined.set(chunk, this.buffer.length);
    }
    const events: VivoEvent[] = [];
    let start = 0;
    for (;;) {
      const header = indexOfHeader(joined, start);
      if (header < 0) {
        // Keep only what could still become a header; the rest is noise.
        const keep = partialHeaderSuffix(joined, start);
        if (joined.length - keep > start)
          events.push({ type: 'noise', raw: joined.slice(start, joined.length - keep) });
        this.buffer = joined.slice(joined.length - keep);
        return events;
      }
      if (header > start) events.push({ type: 'noise', raw: joined.slice(start, header) });
      if (joined.length - header < FIXED_BEFORE_DATA) {
        this.buffer = joined.slice(header);
        return events;
      }
      const length =
        ((joined[header + HEADER_LENGTH + 2] ?? 0) << 8) | (joined[header + HEADER_LENGTH + 3] ?? 0);
      if (length > this.maxData) {
        // Not a real frame: skip this header's first byte and look again.
        events.push({ type: 'noise', raw: joined.slice(header, header + 1) });
        start = header + 1;
        continue;
      }
      const total = FIXED_BEFORE_DATA + length + 2;
      if (joined.length - header < total) {
        this.buffer = joined.slice(header);
        return events;
      }
      const frame = joined.subarray(header, header + total);
      const crc = crc16CcittFalse(frame.subarray(0, total - 2));
      const a = frame[total - 2] ?? 0;
      const b = frame[total - 1] ?? 0;
      const received = this.direction === 'command' ? a | (b << 8) : (a << 8) | b;
      if (received !== crc) {
        events.push({ type: 'bad_crc', raw: joined.slice(header, header + 1) });
        start = header + 1;
        continue;
      }
      events.push({
        type: 'frame',
        command: frame[HEADER_LENGTH] ?? 0,
        code: frame[HEADER_LENGTH + 1] ?? 0,
        data: frame.slice(FIXED_BEFORE_DATA, FIXED_BEFORE_DATA + length),
        raw: frame.slice(),
      });
      start = header + total;
    }
  }
}

const HEADER_FIRST = VIVOTECH2_HEADER[0] as number;

function indexOfHeader(bytes: Uint8Array, from: number): number {
  // Native indexOf finds candidates for the first byte; only those are compared in full.
  for (
    let i = bytes.indexOf(HEADER_FIRST, from);
    i >= 0 && i + HEADER_LENGTH <= bytes.length;
    i = bytes.indexOf(HEADER_FIRST, i + 1)
  ) {
    let j = 1;
    while (j < HEADER_LENGTH && bytes[i + j] === VIVOTECH2_HEADER[j]) j++;
    if (j === HEADER_LENGTH) return i;
  }
  return -1;
}

/** Length of the longest suffix of bytes[from..] that is a proper prefix of the header. */
function partialHeaderSuffix(bytes: Uint8Array, from: number): number {
  const max = Math.min(HEADER_LENGTH - 1, bytes.length - from);
  for (let n = max; n > 0; n--) {
    let match = true;
    for (let j = 0; j < n; j++) {
      if (bytes[bytes.length - n + j] !== VIVOTECH2_HEADER[j]) {
        match = false;
        break;
      }
    }
    if (match) return n;
  }
  return 0;
}

/** Pure decode of a complete byte sequence. */
export function decodeVivo(bytes: Uint8Array, direction: VivoDirection): VivoEvent[] {
  return new VivoDecoder(direction).push(bytes);
}

/** Thin stream wrapper: bytes in, `VivoEvent` objects out. */
export class VivoParser extends Transform {
  private readonly decoder: VivoDecoder;

  constructor(direction: VivoDirection) {
    super({ readableObjectMode: true });
    this.decoder = new VivoDecoder(direction);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (const event of this.decoder.push(chunk)) this.push(event);
    callback();
  }
}
