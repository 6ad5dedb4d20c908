import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import {
  ACK,
  EOT,
  NAK,
  StxDecoder,
  StxLink,
  StxLinkError,
  StxParser,
  asciiPayload,
  decodeStx,
  encodeStxControl,
  encodeStxFrame,
  isFramablePayload,
  lrc,
  splitFields,
  withEvenParity,
  type StxEvent,
  type StxLineMode,
} from './stx-lrc.ts';
import { createMemoryPair } from '../transport/memory-transport.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('STX/ETX/LRC codec', () => {
  it('encodes the PP791 admin request "06" (get serial number) as SI 06 SO LRC', () => {
    // LRC over '0' '6' SO = 0x30 ^ 0x36 ^ 0x0e = 0x08
    expect(hex(encodeStxFrame('admin', ascii('06')))).toBe('0f30360e08');
    // '1' '6' SO = 0x31 ^ 0x36 ^ 0x0e = 0x09 (remote self-test)
    expect(hex(encodeStxFrame('admin', ascii('16')))).toBe('0f31360e09');
  });

  it('encodes a data frame with FS-separated fields and XORs through ETX', () => {
    const payload = asciiPayload('A00', '1.45');
    const frame = encodeStxFrame('data', payload);
    expect(frame[0]).toBe(0x02);
    expect(frame[frame.length - 2]).toBe(0x03);
    expect(frame[frame.length - 1]).toBe(lrc(frame.subarray(1, frame.length - 1)));
    expect(splitFields(payload)).toEqual(['A00', '1.45']);
  });

  it('refuses payloads that would contain their own framing bytes', () => {
    expect(() => encodeStxFrame('data', Uint8Array.of(0x41, 0x03))).toThrow(RangeError);
    expect(() => encodeStxFrame('admin', Uint8Array.of(0x0e))).toThrow(RangeError);
    expect(() => encodeStxFrame('data', Uint8Array.of(0xc8), '7E1')).toThrow(RangeError);
    expect(isFramablePayload(Uint8Array.of(0xc8), '8N1')).toBe(true);
  });

  it('decodes control bytes, frames and noise in order', () => {
    const stream = Uint8Array.from([0x55, ACK, ...encodeStxFrame('admin', ascii('06123')), 0x99, NAK, EOT]);
    const events = decodeStx(stream);
    expect(events.map((e) => e.type + (e.type === 'control' ? `:${e.control}` : ''))).toEqual([
      'noise',
      'control:ack',
      'frame',
      'noise',
      'control:nak',
      'control:eot',
    ]);
    const frame = events[2];
    expect(frame?.type === 'frame' && new TextDecoder().decode(frame.payload)).toBe('06123');
  });

  it('decodes a frame split at every byte boundary', () => {
    const frame = encodeStxFrame('data', asciiPayload('Z3', 'HELLO', 'WORLD'));
    for (let cut = 0; cut <= frame.length; cut++) {
      const decoder = new StxDecoder();
      const events = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))];
      const frames = events.filter((e) => e.type === 'frame');
      expect(frames, `cut at ${cut}`).toHaveLength(1);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('reports a bad LRC so the receiver can NAK it', () => {
    const frame = encodeStxFrame('admin', ascii('16'));
    frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x20;
    const [event] = decodeStx(frame);
    expect(event).toMatchObject({ type: 'bad_frame', reason: 'lrc', kind: 'admin' });
  });

  it('an LRC byte equal to STX is data, not a new frame', () => {
    // find a payload whose LRC is 0x02 and check it still decodes as one frame
    const payload = ascii('0'); // 0x30 ^ 0x03 = 0x33; adjust with a second byte to reach 0x02
    const fixed = Uint8Array.from([...payload, 0x30 ^ 0x03 ^ 0x02]);
    const frame = encodeStxFrame('data', fixed);
    expect(frame[frame.length - 1]).toBe(0x02);
    expect(decodeStx(frame).map((e) => e.type)).toEqual(['frame']);
  });

  it('restarts on a start byte inside a frame and drops over-long frames', () => {
    const broken = Uint8Array.from([0x02, 0x41, 0x42, ...encodeStxFrame('data', ascii('OK'))]);
    expect(decodeStx(broken).map((e) => e.type)).toEqual(['bad_frame', 'frame']);
    const long = Uint8Array.from([
      0x02,
      ...new Uint8Array(50).fill(0x41),
      ...encodeStxFrame('data', ascii('OK')),
    ]);
    const events = decodeStx(long, { maxPayload: 10 });
    expect(events[0]).toMatchObject({ type: 'bad_frame', reason: 'too_long' });
    expect(events.at(-1)).toMatchObject({ type: 'frame' });
  });

  describe('7E1 lines', () => {
    it('7E1-soft puts even parity in bit 7 and the LRC covers the 7-bit characters', () => {
      const frame = encodeStxFrame('admin', ascii('06'), '7E1-soft');
      // SI(0x0f: 4 ones) '0'(0x30: 2) '6'(0x36: 4) SO(0x0e: 3 → 0x8e) LRC 0x08 (1 → 0x88)
      expect(hex(frame)).toBe('0f30368e88');
      const [event] = decodeStx(frame, { mode: '7E1-soft' });
      expect(event?.type === 'frame' && new TextDecoder().decode(event.payload)).toBe('06');
    });

    it('7E1-soft reports a parity error as a bad frame and ignores bad-parity control bytes', () => {
      const frame = encodeStxFrame('admin', ascii('06'), '7E1-soft');
      frame[1] = (frame[1] ?? 0) ^ 0x80; // flip only the parity bit of '0'
      expect(decodeStx(frame, { mode: '7E1-soft' })[0]).toMatchObject({
        type: 'bad_frame',
        reason: 'parity',
      });
      expect(decodeStx(Uint8Array.of(ACK | 0x80), { mode: '7E1-soft' })).toEqual([
        { type: 'noise', raw: Uint8Array.of(0x86) },
      ]);
      expect(withEvenParity(ACK)).toBe(ACK); // 0x06 has two ones already
      expect(encodeStxControl('nak', '7E1-soft')[0]).toBe(withEvenParity(NAK));
    });

    it('7E1 (UART strips parity) treats a set 8th bit as a line-speed/format mismatch', () => {
      const frame = encodeStxFrame('admin', ascii('06'), '7E1');
      frame[2] = (frame[2] ?? 0) | 0x80;
      expect(decodeStx(frame, { mode: '7E1' })[0]).toMatchObject({ type: 'bad_frame', reason: 'parity' });
    });
  });

  describe('properties', () => {
    const modes: StxLineMode[] = ['8N1', '7E1', '7E1-soft'];
    const payloadFor = (mode: StxLineMode) =>
      fc
        .uint8Array({ maxLength: 300 })
        .map((a) => a.map((b) => (mode === '8N1' ? b : b & 0x7f)))
        .filter((a) => isFramablePayload(a, mode));

    for (const mode of modes) {
      it(`decode(encode(x)) = x on ${mode}, for both frame kinds, split anywhere`, () => {
        fc.assert(
          fc.property(
            payloadFor(mode),
            fc.constantFrom('data' as const, 'admin' as const),
            fc.nat(),
            (payload, kind, cutSeed) => {
              const frame = encodeStxFrame(kind, payload, mode);
              const cut = cutSeed % (frame.length + 1);
              const decoder = new StxDecoder({ mode });
              const events = [...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))];
              expect(events).toHaveLength(1);
              const event = events[0] as StxEvent;
              expect(event.type).toBe('frame');
              if (event.type === 'frame') {
                expect(event.kind).toBe(kind);
                expect(hex(event.payload)).toBe(hex(payload));
              }
            },
          ),
          { numRuns: 300 },
        );
      });
    }

    it('random byte streams never throw, and a valid frame after them still decodes (no stall)', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 400 }),
          fc.constantFrom(...modes),
          payloadFor('7E1'),
          (garbage, mode, payload) => {
            const decoder = new StxDecoder({ mode, maxPayload: 256 });
            expect(() => decoder.push(garbage)).not.toThrow();
            const frame = encodeStxFrame('data', payload, mode);
            // The garbage may leave the decoder expecting an LRC, which swallows one byte of the
            // first frame; the second one must always come through intact.
            const events = decoder.push(Uint8Array.from([...frame, ...frame]));
            const last = events.at(-1);
            expect(last?.type).toBe('frame');
            if (last?.type === 'frame') expect(hex(last.payload)).toBe(hex(payload));
            expect(decoder.pendingBytes).toBe(0);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  it('StxParser is a thin Transform over the decoder', async () => {
    const frame = encodeStxFrame('admin', ascii('1C'));
    const chunks = [frame.subarray(0, 2), frame.subarray(2), Uint8Array.of(ACK)].map((c) => Buffer.from(c));
    const events: StxEvent[] = [];
    for await (const event of Readable.from(chunks).pipe(new StxParser())) events.push(event as StxEvent);
    expect(events.map((e) => e.type)).toEqual(['frame', 'control']);
  });
});

describe('StxLink (host side of the link)', () => {
  async function pair() {
    const [host, device] = createMemoryPair();
    await host.open();
    await device.open();
    return { host, device };
  }

  /** A scripted device: reacts to each decoded event from the host. */
  function script(
    device: ReturnType<typeof createMemoryPair>[1],
    react: (event: StxEvent, n: number) => Uint8Array[],
  ) {
    const decoder = new StxDecoder();
    let n = 0;
    device.on('data', (chunk) => {
      for (const event of decoder.push(chunk)) for (const out of react(event, n++)) void device.write(out);
    });
  }

  it('ACKs the answer, swallows the closing EOT and logs every byte', async () => {
    const { host, device } = await pair();
    script(device, (event) => {
      if (event.type === 'frame')
        return [Uint8Array.of(ACK), encodeStxFrame('admin', ascii('06PP791SN0001'))];
      if (event.type === 'control' && event.control === 'ack') return [Uint8Array.of(EOT)];
      return [];
    });
    const link = new StxLink(host, { eotTimeoutMs: 2000 });
    const log: string[] = [];
    const result = await link.exchange('admin', ascii('06'), { log: (d, b) => log.push(`${d}:${hex(b)}`) });
    expect(result.outcome).toBe('answered');
    expect(result.outcome === 'answered' && new TextDecoder().decode(result.payload)).toBe('06PP791SN0001');
    expect(log[0]).toBe('tx:0f30360e08');
    expect(log).toContain('rx:06');
    expect(log).toContain('tx:06');
    expect(log.at(-1)).toBe('rx:04');
    link.dispose();
  });

  it('resends after a NAK and gives up with EOT after 3 NAKs', async () => {
    const { host, device } = await pair();
    script(device, (event) => (event.type === 'frame' ? [Uint8Array.of(NAK)] : []));
    const link = new StxLink(host);
    const error = await link.exchange('admin', ascii('16')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StxLinkError);
    expect((error as StxLinkError).failure).toBe('nak_limit');
    const sent = host.written.map(hex);
    expect(sent.filter((s) => s === '0f31360e09')).toHaveLength(3);
    expect(sent.at(-1)).toBe('04');
  });

  it('resends after silence and reports no_ack after the last try', async () => {
    const { host } = await pair();
    const link = new StxLink(host, { ackTimeoutMs: 30, maxTries: 3 });
    const error = (await link.exchange('admin', ascii('06')).catch((e: unknown) => e)) as StxLinkError;
    expect(error.failure).toBe('no_ack');
    expect(host.written.filter((b) => hex(b) === '0f30360e08')).toHaveLength(3);
  });

  it('NAKs a bad answer, accepts the resent one', async () => {
    const { host, device } = await pair();
    let answers = 0;
    script(device, (event) => {
      if (event.type === 'frame') {
        answers++;
        const bad = encodeStxFrame('admin', ascii('160'));
        bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
        return [Uint8Array.of(ACK), bad];
      }
      if (event.type === 'control' && event.control === 'nak') return [encodeStxFrame('admin', ascii('160'))];
      if (event.type === 'control' && event.control === 'ack') return [Uint8Array.of(EOT)];
      return [];
    });
    const link = new StxLink(host);
    const result = await link.exchange('admin', ascii('16'));
    expect(result.outcome).toBe('answered');
    expect(answers).toBe(1);
    expect(host.written.map(hex)).toContain('15');
  });

  it('reports a device that ACKs then answers EOT as declined', async () => {
    const { host, device } = await pair();
    script(device, (event) => (event.type === 'frame' ? [Uint8Array.of(ACK), Uint8Array.of(EOT)] : []));
    const link = new StxLink(host);
    expect(await link.exchange('admin', ascii('99'))).toEqual({ outcome: 'declined' });
  });

  it('fails fast with a transport failure when the device is unplugged mid-exchange', async () => {
    const { host, device } = await pair();
    script(device, (event) => {
      if (event.type === 'frame') setTimeout(() => host.unplug(), 5);
      return event.type === 'frame' ? [Uint8Array.of(ACK)] : [];
    });
    const link = new StxLink(host, { responseTimeoutMs: 20_000 });
    const error = (await link.exchange('admin', ascii('16')).catch((e: unknown) => e)) as StxLinkError;
    expect(error.failure).toBe('transport');
    // the next exchange fails at once instead of waiting for timeouts
    const again = (await link.exchange('admin', ascii('16')).catch((e: unknown) => e)) as StxLinkError;
    expect(again.failure).toBe('transport');
  });

  it('cancels with the abort signal and tells the device with EOT', async () => {
    const { host, device } = await pair();
    script(device, (event) => (event.type === 'frame' ? [Uint8Array.of(ACK)] : []));
    const link = new StxLink(host, { responseTimeoutMs: 20_000 });
    const controller = new AbortController();
    const pending = link.exchange('admin', ascii('16'), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by technician')), 20);
    await expect(pending).rejects.toThrow('cancelled by technician');
    expect(hex(host.written.at(-1) ?? new Uint8Array())).toBe('04');
  });
});
