import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import {
  VIVOTECH2_HEADER,
  VIVOTECH2_MAX_DATA,
  VivoDecoder,
  VivoParser,
  crc16CcittFalse,
  decodeVivo,
  encodeVivoCommand,
  parseActivateTransaction,
  parseTlv,
  encodeVivoResponse,
  type VivoEvent,
} from './vivotech2.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('ViVOtech2 frames', () => {
  it('CRC-16/CCITT-FALSE check value', () => {
    expect(crc16CcittFalse(new TextEncoder().encode('123456789'))).toBe(0x29b1);
  });

  // NEO 2 Interface Developer's Guide §2.8.2 sample: ping command and its response.
  it("encodes the guide's ping command (CRC little-endian) and response (CRC big-endian)", () => {
    expect(hex(encodeVivoCommand(0x18, 0x01))).toBe('5669564f74656368320018010000b3cd');
    expect(hex(encodeVivoResponse(0x18, 0x00))).toBe('5669564f74656368320018000000fa83');
  });

  it('decodes with the byte order of its direction only', () => {
    const response = encodeVivoResponse(0x29, 0x00, new TextEncoder().encode('NEO v1'));
    expect(decodeVivo(response, 'response')).toMatchObject([{ type: 'frame', command: 0x29, code: 0 }]);
    expect(decodeVivo(response, 'command').some((e) => e.type === 'frame')).toBe(false);
  });

  it('skips HID zero padding and junk around frames', () => {
    const frame = encodeVivoResponse(0x18, 0x00);
    const padded = new Uint8Array(63 * 2);
    padded.set([0xde, 0xad], 0);
    padded.set(frame, 5);
    const events = decodeVivo(padded, 'response');
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(1);
  });

  it('decodes a frame split at every byte boundary', () => {
    const frame = encodeVivoCommand(
      0x02,
      0x40,
      Uint8Array.from({ length: 70 }, (_, i) => i),
    );
    for (let cut = 0; cut <= frame.length; cut++) {
      const decoder = new VivoDecoder('command');
      const events = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))];
      expect(
        events.filter((e) => e.type === 'frame'),
        `cut ${cut}`,
      ).toHaveLength(1);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('reports a bad CRC and still finds the next good frame', () => {
    const bad = encodeVivoResponse(0x18, 0x00);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    const good = encodeVivoResponse(0x29, 0x00, Uint8Array.of(0x41));
    const events = decodeVivo(Uint8Array.from([...bad, ...good]), 'response');
    expect(events.map((e) => e.type)).toContain('bad_crc');
    expect(events.at(-1)).toMatchObject({ type: 'frame', command: 0x29 });
  });

  it('properties: decode(encode(x)) = x in both directions, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('command' as const, 'response' as const),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.nat(),
        (direction, command, code, data, seed) => {
          const frame =
            direction === 'command'
              ? encodeVivoCommand(command, code, data)
              : encodeVivoResponse(command, code, data);
          const cut = seed % (frame.length + 1);
          const decoder = new VivoDecoder(direction);
          const events = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))];
          const frames = events.filter((e): e is Extract<VivoEvent, { type: 'frame' }> => e.type === 'frame');
          expect(frames).toHaveLength(1);
          expect(frames[0]?.command).toBe(command);
          expect(frames[0]?.code).toBe(code);
          expect(hex(frames[0]?.data ?? new Uint8Array())).toBe(hex(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("properties: random streams never throw, never hold more than one frame's worth, and a frame after them decodes", () => {
    const maxData = 256;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }),
            // garbage that starts like a real frame: a header with random length and body
            fc.uint8Array({ maxLength: 40 }).map((tail) => Uint8Array.from([...VIVOTECH2_HEADER, ...tail])),
          ),
          { maxLength: 6 },
        ),
        fc.uint8Array({ maxLength: 100 }),
        (chunks, data) => {
          const decoder = new VivoDecoder('response', maxData);
          for (const chunk of chunks) expect(() => decoder.push(chunk)).not.toThrow();
          expect(decoder.pendingBytes).toBeLessThanOrEqual(10 + 4 + maxData + 2);
          // zeros (HID padding) long enough to complete any false frame the garbage started
          const frame = encodeVivoResponse(0x18, 0x00, data);
          const events = decoder.push(Uint8Array.from([...new Uint8Array(maxData + 16), ...frame]));
          expect(events.at(-1)).toMatchObject({ type: 'frame', command: 0x18 });
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
    expect(VIVOTECH2_MAX_DATA).toBeGreaterThan(maxData);
  });

  it('VivoParser is a thin Transform', async () => {
    const frame = Buffer.from(encodeVivoResponse(0x18, 0x00));
    const events: VivoEvent[] = [];
    for await (const e of Readable.from([frame.subarray(0, 7), frame.subarray(7)]).pipe(
      new VivoParser('response'),
    ))
      events.push(e as VivoEvent);
    expect(events.map((e) => e.type)).toEqual(['frame']);
  });

  // A transaction answer published by IDTech (knowledge base "Examples of parsing - Vendi, Neo"):
  // a contactless MagStripe read, tracks without sentinels, then TLVs; CRC big-endian.
  const PUBLISHED_SAMPLE =
    '5669564f746563683200030000763942363237393235373734393133323334335e5445535420434152442f56' +
    '49564f544543485e3130313238313330303732313034333530303030253632373932353737343931333233' +
    '34333d3130313238313330303732313034333530303030009f3501229f390107ffee0104df300100dfee2601416a44';

  it('decodes a published reader answer (CRC, tracks, POS entry mode)', () => {
    const events = decodeVivo(Uint8Array.from(Buffer.from(PUBLISHED_SAMPLE, 'hex')), 'response');
    expect(events).toHaveLength(1);
    const frame = events[0];
    if (frame?.type !== 'frame') throw new Error('no frame');
    expect(frame.data.length).toBe(0x76);
    const parsed = parseActivateTransaction(frame.data);
    expect(parsed?.track2).toBe('6279257749132343=10128130072104350000');
    expect(parsed?.track1.startsWith('B6279257749132343^TEST CARD/VIVOTECH^')).toBe(true);
    expect(parsed?.entryMode).toBe(0x07);
    expect([...(parsed?.tags.keys() ?? [])]).toEqual(['9F35', '9F39', 'FFEE01', 'DF30', 'DFEE26']);
  });

  it('BER-TLV: multi-byte tags, long lengths, constructed tags; refuses truncated lists', () => {
    const long = new Uint8Array(130).fill(0x41);
    const tlv = Uint8Array.from([
      0x5a,
      0x02,
      0x12,
      0x34,
      0xdf,
      0xee,
      0x26,
      0x81,
      130,
      ...long,
      0xff,
      0xee,
      0x01,
      0x04,
      0xdf,
      0x30,
      0x01,
      0x0c,
    ]);
    const tags = parseTlv(tlv);
    expect(tags?.get('5A')).toEqual(Uint8Array.of(0x12, 0x34));
    expect(tags?.get('DFEE26')?.length).toBe(130);
    expect(tags?.get('DF30')).toEqual(Uint8Array.of(0x0c));
    expect(parseTlv(Uint8Array.of(0x9f, 0x39, 0x02, 0x01))).toBeNull();
    expect(parseTlv(Uint8Array.of(0x9f))).toBeNull();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        (bytes) => void expect(() => parseActivateTransaction(bytes)).not.toThrow(),
      ),
    );
  });
});
