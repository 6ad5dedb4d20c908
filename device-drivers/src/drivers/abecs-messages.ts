/**
 * ABECS application layer (spec 2.x section 2.3): what travels inside PKTDATA, shared by the host
 * driver and the PinPad simulator.
 * - Command: CMD_ID (3 letters) then any number of blocks, each a 3-digit length and up to 999
 *   bytes (2.3.1).
 * - Response: RSP_ID, RSP_STAT (3 digits), then blocks the same way; a non-zero status carries no
 *   data (2.3.2). `NTM` notifications and the `ERR` answer to an unknown command (2.3.3, 2.3.4).
 * - The newer commands (GIX, CEX …) fill blocks with parameters, each a 2-byte id, a 2-byte length
 *   (both binary, most significant byte first, format "X2" of 1.3) and the value (3.1.2 tables).
 */
import { fromLatin1, latin1 } from '../framing/abecs.ts';

/** Return codes used here (spec 3.1.1). */
export const ST = {
  OK: 0,
  F1: 4,
  F2: 5,
  F3: 6,
  F4: 7,
  BACKSP: 8,
  INVCALL: 10,
  INVPARM: 11,
  TIMEOUT: 12,
  CANCEL: 13,
  INTERR: 40,
  MCDATAERR: 41,
  ERRKEY: 42,
  NOCARD: 43,
} as const;

/** Parameter ids (spec 3.1.2: SPE_* sent by the host, PP_* returned by the PinPad). */
export const PAR = {
  SPE_IDLIST: 0x0001,
  SPE_CEXOPT: 0x0006,
  SPE_TIMEOUT: 0x000c,
  PP_SERNUM: 0x8001,
  PP_PARTNBR: 0x8002,
  PP_MODEL: 0x8003,
  PP_MNNAME: 0x8004,
  PP_CAPAB: 0x8005,
  PP_SOVER: 0x8006,
  PP_SPECVER: 0x8007,
  PP_MANVERS: 0x8008,
  PP_APPVERS: 0x8009,
  PP_KRNLVER: 0x8010,
  PP_DSPTXTSZ: 0x8020,
  PP_MKTDESP: 0x8032,
  PP_MKTDESD: 0x8033,
  PP_DKPTTDESP: 0x8035,
  PP_DKPTTDESD: 0x8036,
  PP_EVENT: 0x8040,
  PP_TRK1INC: 0x8041,
  PP_TRK2INC: 0x8042,
  PP_TRK3INC: 0x8043,
  /** PP_KSNTDESPnn = 9100h + nn (nn = 0…99, binary: slot 14 is 910Eh). */
  PP_KSNTDESP00: 0x9100,
  /** PP_KSNTDESDnn = 9200h + nn. */
  PP_KSNTDESD00: 0x9200,
} as const;

/** PP_EVENT values of the CEX command. */
export const CEX_EVENT = {
  KEY_OK: '00',
  KEY_F1: '04',
  KEY_F2: '05',
  KEY_F3: '06',
  KEY_F4: '07',
  KEY_CLEAR: '08',
  KEY_CANCEL: '13',
  MAG_SWIPED: '90',
  ICC_REMOVED: '91',
  ICC_INSERTED: '92',
  CTLS_NOT_DETECTED: '93',
  CTLS_DETECTED: '94',
} as const;

export const MAX_BLOCK = 999;

export interface AbecsParam {
  id: number;
  value: Uint8Array;
}

function len3(n: number): string {
  return String(n).padStart(3, '0');
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function blocksOf(blocks: readonly Uint8Array[]): Uint8Array[] {
  return blocks.flatMap((b) => {
    if (b.length > MAX_BLOCK)
      throw new RangeError(`ABECS block of ${b.length} bytes: at most ${MAX_BLOCK} (spec 2.3.1)`);
    return [latin1(len3(b.length)), b];
  });
}

export function buildCommand(id: string, blocks: readonly Uint8Array[] = []): Uint8Array {
  return concat([latin1(id), ...blocksOf(blocks)]);
}

export function buildResponse(id: string, status: number, blocks: readonly Uint8Array[] = []): Uint8Array {
  return concat([latin1(id + len3(status)), ...(status === ST.OK ? blocksOf(blocks) : [])]);
}

function parseBlocks(data: Uint8Array, from: number): Uint8Array[] | null {
  const blocks: Uint8Array[] = [];
  let i = from;
  while (i < data.length) {
    if (i + 3 > data.length) return null;
    const text = fromLatin1(data.subarray(i, i + 3));
    if (!/^\d{3}$/.test(text)) return null;
    const n = Number(text);
    if (i + 3 + n > data.length) return null;
    blocks.push(data.subarray(i + 3, i + 3 + n));
    i += 3 + n;
  }
  return blocks;
}

export interface AbecsCommandMessage {
  id: string;
  blocks: Uint8Array[];
}
export interface AbecsResponseMessage {
  id: string;
  status: number;
  blocks: Uint8Array[];
}

export function parseCommand(data: Uint8Array): AbecsCommandMessage | null {
  if (data.length < 3) return null;
  const id = fromLatin1(data.subarray(0, 3));
  if (!/^[A-Z]{3}$/.test(id)) return null;
  const blocks = parseBlocks(data, 3);
  return blocks ? { id, blocks } : null;
}

export function parseResponse(data: Uint8Array): AbecsResponseMessage | null {
  if (data.length < 6) return null;
  const id = fromLatin1(data.subarray(0, 3));
  const stat = fromLatin1(data.subarray(3, 6));
  if (!/^[A-Z]{3}$/.test(id) || !/^\d{3}$/.test(stat)) return null;
  const blocks = parseBlocks(data, 6);
  return blocks ? { id, status: Number(stat), blocks } : null;
}

export function encodeParams(params: readonly AbecsParam[]): Uint8Array {
  return concat(
    params.flatMap((p) => [
      Uint8Array.of(p.id >> 8, p.id & 0xff, p.value.length >> 8, p.value.length & 0xff),
      p.value,
    ]),
  );
}

/** Packs parameters into as many blocks as needed (each ≤ 999 bytes). */
export function paramBlocks(params: readonly AbecsParam[]): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  let current: AbecsParam[] = [];
  let size = 0;
  for (const p of params) {
    const n = 4 + p.value.length;
    if (size + n > MAX_BLOCK && current.length > 0) {
      blocks.push(encodeParams(current));
      current = [];
      size = 0;
    }
    current.push(p);
    size += n;
  }
  if (current.length > 0) blocks.push(encodeParams(current));
  return blocks;
}

/** Parameters of all blocks; null when a block is malformed. Repeated ids are concatenated (3.1.2). */
export function decodeParams(blocks: readonly Uint8Array[]): Map<number, Uint8Array> | null {
  const out = new Map<number, Uint8Array>();
  for (const block of blocks) {
    let i = 0;
    while (i < block.length) {
      if (i + 4 > block.length) return null;
      const id = ((block[i] as number) << 8) | (block[i + 1] as number);
      const n = ((block[i + 2] as number) << 8) | (block[i + 3] as number);
      if (i + 4 + n > block.length) return null;
      const value = block.subarray(i + 4, i + 4 + n);
      const prev = out.get(id);
      out.set(id, prev ? concat([prev, value]) : value);
      i += 4 + n;
    }
  }
  return out;
}

export function textParam(id: number, text: string): AbecsParam {
  return { id, value: latin1(text) };
}

export function idList(ids: readonly number[]): AbecsParam {
  return { id: PAR.SPE_IDLIST, value: Uint8Array.from(ids.flatMap((id) => [id >> 8, id & 0xff])) };
}

export function readIdList(value: Uint8Array): number[] {
  const ids: number[] = [];
  for (let i = 0; i + 1 < value.length; i += 2)
    ids.push(((value[i] as number) << 8) | (value[i + 1] as number));
  return ids;
}

/** The 32-character (2 × 16) text of DSP/CLO/NTM: each line cut or padded to 16 (spec 3.x, 7.3). */
export function twoLines(line1: string, line2 = ''): string {
  return line1.slice(0, 16).padEnd(16, ' ') + line2.slice(0, 16).padEnd(16, ' ');
}
