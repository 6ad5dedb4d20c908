import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import {
  ABECS,
  ABECS_MAX_DATA,
  AbecsDecoder,
  AbecsParser,
  crc16Xmodem,
  decodeAbecs,
  encodeAbecsFrame,
  encodeAbecsText,
  latin1,
  type AbecsEvent,
} from './abecs.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const frames = (events: AbecsEvent[]) =>
  events.filter((e) => e.type === 'frame').map((e) => hex((e as { data: Uint8Array }).data));

describe('crc16Xmodem', () => {
  it('matches the CRC-16/XMODEM check value', () => {
    expect(crc16Xmodem(latin1('123456789'))).toBe(0x31c3);
  });
});

describe('encodeAbecsFrame — known vectors (spec 2.2.2.1 and 2.2.2.2 examples)', () => {
  it('encodes the OPN command frame', () => {
    expect(hex(encodeAbecsText('OPN'))).toBe('164f504e17a8a9');
  });
  it('encodes the DSP000 response frame', () => {
    expect(hex(encodeAbecsText('DSP000'))).toBe('1644535030303017' + '3963');
  });
  it('escapes DC3, SYN and ETB inside data as DC3 + byte+0x20, CRC over the unescaped data', () => {
    const data = Uint8Array.of(0x41, 0x13, 0x16, 0x17, 0x42);
    const frame = encodeAbecsFrame(data);
    expect(hex(frame.subarray(0, 9))).toBe('16411333133613374217'.slice(0, 18));
    const crc = crc16Xmodem(Uint8Array.of(...data, ABECS.ETB));
    expect(frame[frame.length - 2]).toBe(crc >> 8);
    expect(frame[frame.length - 1]).toBe(crc & 0xff);
    expect(frames(decodeAbecs(frame))).toEqual([hex(data)]);
  });
  it('refuses more than 2049 data bytes and accepts exactly 2049', () => {
    expect(() => encodeAbecsFrame(new Uint8Array(ABECS_MAX_DATA + 1))).toThrow(/2049/);
    const max = new Uint8Array(ABECS_MAX_DATA).fill(0x17);
    expect(frames(decodeAbecs(encodeAbecsFrame(max)))).toEqual([hex(max)]);
  });
});

describe('AbecsDecoder', () => {
  it.each([
    ['OPN command', latin1('OPN')],
    ['DSP000 response', latin1('DSP000')],
    ['data with every escaped byte', latin1('OPN000\x13\x16\x17X')],
    [
      'GIX response with binary parameters',
      Uint8Array.of(
        ...latin1('GIX000014'),
        0x91,
        0x02,
        0x00,
        0x0a,
        0xff,
        0xff,
        0x16,
        0x13,
        0x17,
        0x00,
        0x00,
        0x00,
        0x00,
        0x07,
      ),
    ],
  ])('decodes the %s split at every pair of byte boundaries', (_name, data) => {
    const frame = encodeAbecsFrame(data);
    for (let i = 0; i <= frame.length; i++) {
      for (let j = i; j <= frame.length; j++) {
        const d = new AbecsDecoder();
        const events = [
          ...d.push(frame.subarray(0, i)),
          ...d.push(frame.subarray(i, j)),
          ...d.push(frame.subarray(j)),
        ];
        expect(frames(events)).toEqual([hex(data)]);
      }
    }
  });
  it('reports a bad CRC as bad_frame, then decodes the next frame', () => {
    const bad = Uint8Array.from(Buffer.from('16444350303030170000'.replace('4443', '4453'), 'hex'));
    const good = encodeAbecsText('DSP000');
    const events = decodeAbecs(Uint8Array.of(...bad, ...good));
    expect(events[0]).toMatchObject({ type: 'bad_frame', reason: 'crc' });
    expect(frames(events)).toEqual([hex(latin1('DSP000'))]);
  });
  it('passes control bytes outside frames and reports noise', () => {
    const events = decodeAbecs(Uint8Array.of(0x41, ABECS.ACK, ABECS.NAK, 0x42, ABECS.EOT));
    expect(events.map((e) => e.type)).toEqual(['noise', 'control', 'control', 'noise', 'control']);
  });
  it('treats a SYN inside a packet as the start of a new one (truncated packet)', () => {
    const good = encodeAbecsText('OPN000');
    const events = decodeAbecs(Uint8Array.of(ABECS.SYN, 0x41, 0x42, ...good));
    expect(events[0]).toMatchObject({ type: 'bad_frame', reason: 'truncated' });
    expect(frames(events)).toEqual([hex(latin1('OPN000'))]);
  });
  it('reports an over-long packet as too_long without buffering it', () => {
    const body = new Uint8Array(5000).fill(0x41);
    const events = decodeAbecs(Uint8Array.of(ABECS.SYN, ...body, ABECS.ETB, 0, 0, ...encodeAbecsText('OPN')));
    expect(events[0]).toMatchObject({ type: 'bad_frame', reason: 'too_long' });
    expect(frames(events)).toEqual([hex(latin1('OPN'))]);
  });
});

describe('AbecsParser (Transform)', () => {
  it('emits frames from a byte stream', async () => {
    const frame = encodeAbecsText('GIX000');
    const parser = Readable.from([frame.subarray(0, 3), frame.subarray(3)].map((b) => Buffer.from(b))).pipe(
      new AbecsParser(),
    );
    const out: AbecsEvent[] = [];
    for await (const e of parser) out.push(e as AbecsEvent);
    expect(frames(out)).toEqual([hex(latin1('GIX000'))]);
  });
});

describe('properties (fast-check)', () => {
  const data = fc.uint8Array({ maxLength: ABECS_MAX_DATA });
  it('decode(encode(x)) = x, for any split of the stream', () => {
    fc.assert(
      fc.property(data, fc.array(fc.nat(), { maxLength: 6 }), (x, cuts) => {
        const frame = encodeAbecsFrame(x);
        const points = [...new Set(cuts.map((c) => c % (frame.length + 1)))].sort((a, b) => a - b);
        const d = new AbecsDecoder();
        const events: AbecsEvent[] = [];
        let last = 0;
        for (const p of [...points, frame.length]) {
          events.push(...d.push(frame.subarray(last, p)));
          last = p;
        }
        expect(frames(events)).toEqual([hex(x)]);
        expect(d.inFrame).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
  it('random byte streams never throw and never stall: a valid frame after any garbage is still found', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ maxLength: 64 }), (garbage, x) => {
        const d = new AbecsDecoder();
        d.push(garbage);
        // At most one pending packet may swallow the next frame's start; a lone ETB+2 bytes or a
        // fresh SYN always resynchronises, so the second copy of the frame must come out.
        const frame = encodeAbecsFrame(x);
        const events = [...d.push(Uint8Array.of(ABECS.ETB, 0, 0)), ...d.push(frame), ...d.push(frame)];
        expect(frames(events).length).toBeGreaterThanOrEqual(1);
        expect(frames(events).at(-1)).toBe(hex(x));
      }),
      { numRuns: 300 },
    );
  });
});
