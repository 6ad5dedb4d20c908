/**
 * MagTek-style USB HID magnetic-stripe readers (MagTek "USB HID Swipe Reader Technical Reference
 * Manual", 99875191, Section 4 "USB Communications"):
 *
 * - Card data: one 337-byte input report per swipe — offsets 0–2 decode status of tracks 1–3
 *   (bit 0 set = decode error), 3–5 the valid lengths, 6 the card encode type, then three fixed
 *   110-byte track fields at 7, 117 and 227 holding ASCII from start to end sentinel.
 * - Commands: a feature report of command number, data length and a fixed 22-byte data field; the
 *   answer (read back as a feature report) is result code, data length, data. Command 0x00
 *   GET_PROPERTY reads properties such as 0x00 SOFTWARE_ID and 0x01 SERIAL_NUM.
 *
 * HID keeps report boundaries, so the decoder works per report: one chunk in, one swipe (or a
 * reason it is not one) out. Track verdicts apply the ISO/IEC 7811 character sets and sentinels.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const MAGTEK_SWIPE_REPORT_LENGTH = 337;
export const MAGTEK_TRACK_FIELD_LENGTH = 110;
const TRACK_OFFSETS = [7, 117, 227] as const;

/** §4 "Card encode type" values. */
export const CARD_ENCODE_TYPES = [
  'iso_aba',
  'aamva',
  'cadl',
  'blank',
  'other',
  'undetermined',
  'none',
] as const;
export type CardEncodeType = (typeof CARD_ENCODE_TYPES)[number] | 'unknown';

export interface MagtekTrack {
  track: 1 | 2 | 3;
  decodeError: boolean;
  length: number;
  /** ASCII as sent by the reader, start to end sentinel. Sensitive: never store it. */
  data: string;
}

export interface MagtekSwipe {
  tracks: [MagtekTrack, MagtekTrack, MagtekTrack];
  encodeType: CardEncodeType;
  encodeTypeCode: number;
}

export type MagtekDecodeResult =
  | { ok: true; swipe: MagtekSwipe }
  | { ok: false; reason: 'wrong_length' | 'bad_track_length'; length: number };

export function decodeSwipeReport(report: Uint8Array): MagtekDecodeResult {
  if (report.length !== MAGTEK_SWIPE_REPORT_LENGTH)
    return { ok: false, reason: 'wrong_length', length: report.length };
  const tracks: MagtekTrack[] = [];
  for (let i = 0; i < 3; i++) {
    const status = report[i] ?? 0;
    const length = report[3 + i] ?? 0;
    if (length > MAGTEK_TRACK_FIELD_LENGTH)
      return { ok: false, reason: 'bad_track_length', length: report.length };
    const offset = TRACK_OFFSETS[i] as number;
    const decodeError = (status & 0x01) === 1;
    tracks.push({
      track: (i + 1) as 1 | 2 | 3,
      decodeError,
      length: decodeError ? 0 : length,
      data: decodeError ? '' : new TextDecoder('latin1').decode(report.subarray(offset, offset + length)),
    });
  }
  const code = report[6] ?? 0xff;
  return {
    ok: true,
    swipe: {
      tracks: tracks as [MagtekTrack, MagtekTrack, MagtekTrack],
      encodeType: CARD_ENCODE_TYPES[code] ?? 'unknown',
      encodeTypeCode: code,
    },
  };
}

export interface SwipeToEncode {
  tracks: { data: string; decodeError?: boolean }[];
  encodeTypeCode?: number;
}

/** Builds the input report a reader sends for a swipe (the simulator uses it). */
export function encodeSwipeReport(swipe: SwipeToEncode): Uint8Array {
  const report = new Uint8Array(MAGTEK_SWIPE_REPORT_LENGTH);
  for (let i = 0; i < 3; i++) {
    const track = swipe.tracks[i] ?? { data: '' };
    const bytes = new TextEncoder().encode(track.data);
    if (bytes.length > MAGTEK_TRACK_FIELD_LENGTH)
      throw new RangeError(`track ${i + 1} holds at most ${MAGTEK_TRACK_FIELD_LENGTH} bytes`);
    report[i] = track.decodeError === true ? 0x01 : 0x00;
    report[3 + i] = track.decodeError === true ? 0 : bytes.length;
    if (track.decodeError !== true) report.set(bytes, TRACK_OFFSETS[i] as number);
  }
  report[6] = swipe.encodeTypeCode ?? 0;
  return report;
}

// --- track verdicts ---------------------------------------------------------------------------

export type TrackVerdict = 'ok' | 'decode_error' | 'empty' | 'malformed';

/** ISO/IEC 7811-2 limits: track 1 alphanumeric (6-bit), tracks 2 and 3 numeric (4-bit). */
const TRACK_RULES = {
  1: { start: '%', max: 79, charset: /^[\x20-\x5f]*$/ },
  2: { start: ';', max: 40, charset: /^[\x30-\x3f]*$/ },
  3: { start: ';', max: 107, charset: /^[\x30-\x3f]*$/ },
} as const;

export function trackVerdict(track: MagtekTrack): { verdict: TrackVerdict; reason: string | null } {
  if (track.decodeError) return { verdict: 'decode_error', reason: 'the reader could not decode this track' };
  if (track.length === 0) return { verdict: 'empty', reason: null };
  const rule = TRACK_RULES[track.track];
  const data = track.data;
  if (!data.startsWith(rule.start) || !data.endsWith('?') || data.length < 3) {
    return { verdict: 'malformed', reason: 'start or end sentinel missing' };
  }
  if (data.length > rule.max) return { verdict: 'malformed', reason: `longer than ${rule.max} characters` };
  if (!rule.charset.test(data))
    return { verdict: 'malformed', reason: 'characters outside the track character set' };
  return { verdict: 'ok', reason: null };
}

/** The PAN from track 2 (";PAN=…?"), masked to first 6 and last 4 digits (PCI DSS 3.4). */
export function maskedPanFromTrack2(track2: string): string | null {
  const match = /^;(\d{12,19})=/.exec(track2);
  const pan = match?.[1];
  if (!pan) return null;
  return `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
}

// --- feature-report commands (GET_PROPERTY) -----------------------------------------------------

export const MAGTEK_COMMAND_DATA_LENGTH = 22;
export const MAGTEK_GET_PROPERTY = 0x00;
export const MAGTEK_PROPERTY_SOFTWARE_ID = 0x00;
export const MAGTEK_PROPERTY_SERIAL_NUM = 0x01;

/** Command feature report body (without the report-id byte): cmd, length, 22 data bytes. */
export function encodeMagtekCommand(command: number, data: Uint8Array = new Uint8Array()): Uint8Array {
  if (data.length > MAGTEK_COMMAND_DATA_LENGTH)
    throw new RangeError('MagTek command data is at most 22 bytes');
  const out = new Uint8Array(2 + MAGTEK_COMMAND_DATA_LENGTH);
  out[0] = command & 0xff;
  out[1] = data.length;
  out.set(data, 2);
  return out;
}

export type MagtekCommandResponse =
  { ok: true; resultCode: number; data: Uint8Array } | { ok: false; reason: 'too_short' | 'bad_length' };

/** Parses a response feature report body (without the report-id byte). */
export function decodeMagtekCommandResponse(body: Uint8Array): MagtekCommandResponse {
  if (body.length < 2) return { ok: false, reason: 'too_short' };
  const length = body[1] ?? 0;
  if (2 + length > body.length) return { ok: false, reason: 'bad_length' };
  return { ok: true, resultCode: body[0] ?? 0, data: body.slice(2, 2 + length) };
}

/** Response body as a device writes it (the simulator uses it). */
export function encodeMagtekCommandResponse(
  resultCode: number,
  data: Uint8Array = new Uint8Array(),
): Uint8Array {
  const out = new Uint8Array(2 + MAGTEK_COMMAND_DATA_LENGTH);
  out[0] = resultCode;
  out[1] = Math.min(data.length, MAGTEK_COMMAND_DATA_LENGTH);
  out.set(data.subarray(0, MAGTEK_COMMAND_DATA_LENGTH), 2);
  return out;
}

/** Thin Transform: one input report per chunk in, one `MagtekDecodeResult` per report out. */
export class MagtekSwipeParser extends Transform {
  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.push(decodeSwipeReport(chunk));
    callback();
  }
}
