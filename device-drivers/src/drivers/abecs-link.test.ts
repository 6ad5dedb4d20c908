import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { createMemoryPair, type MemoryTransport } from '../transport/memory-transport.ts';
import { ABECS, AbecsDecoder, encodeAbecsText, fromLatin1 } from '../framing/abecs.ts';
import { AbecsLink } from './abecs-link.ts';
import { DriverError, type FrameLogEntry } from './driver.ts';

/** A scripted far end: records what the host sent and lets the test answer byte by byte. */
async function setup() {
  const [host, device] = createMemoryPair();
  await host.open();
  await device.open();
  const received: string[] = [];
  const decoder = new AbecsDecoder();
  device.on('data', (chunk) => {
    for (const e of decoder.push(chunk))
      received.push(e.type === 'frame' ? fromLatin1(e.data) : e.type === 'control' ? `<${e.byte}>` : e.type);
  });
  const log: FrameLogEntry[] = [];
  const link = new AbecsLink(host, (e) => log.push(e));
  const say = (bytes: Uint8Array | number) =>
    device.write(typeof bytes === 'number' ? Uint8Array.of(bytes) : bytes);
  return { host, device: device as MemoryTransport, link, received, say, log };
}

/** Lets microtasks (memory-pair deliveries) run, then moves the fake clock. */
async function advance(ms: number) {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('AbecsLink (spec 2.2.2) over the memory pair, fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resends the command after a NAK and returns the response', async () => {
    const { link, received, say } = await setup();
    const result = link.command('OPN');
    await advance(1);
    expect(received).toEqual(['OPN']);
    await say(ABECS.NAK);
    await advance(1);
    expect(received).toEqual(['OPN', 'OPN']);
    await say(ABECS.ACK);
    await say(encodeAbecsText('OPN000'));
    expect(fromLatin1(await result)).toBe('OPN000');
  });

  it('gives up after the third NAK with DIAG-LINK-002', async () => {
    const { link, received, say } = await setup();
    const result = link.command('OPN').catch((e: unknown) => e);
    for (let i = 0; i < 3; i++) {
      await advance(1);
      await say(ABECS.NAK);
    }
    await advance(1);
    expect(await result).toMatchObject({ code: 'DIAG-LINK-002' });
    expect(received).toEqual(['OPN', 'OPN', 'OPN']);
  });

  it('fails with DIAG-LINK-001 when no ACK comes within 2 s', async () => {
    const { link } = await setup();
    const result = link.command('OPN').catch((e: unknown) => e);
    await advance(1999);
    let settled = false;
    void result.then(() => (settled = true));
    await advance(0);
    expect(settled).toBe(false);
    await advance(2);
    expect(await result).toMatchObject({ code: 'DIAG-LINK-001' });
  });

  it('answers a damaged response with NAK only after 500 ms of silence, then takes the resend', async () => {
    const { link, received, say } = await setup();
    const result = link.command('DSP');
    await advance(1);
    await say(ABECS.ACK);
    const bad = encodeAbecsText('DSP000');
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    await say(bad);
    await advance(300);
    await say(Uint8Array.of(0x41, 0x42)); // more noise restarts the silence window
    await advance(400);
    expect(received).toEqual(['DSP']);
    await advance(200);
    expect(received).toEqual(['DSP', '<21>']);
    await say(encodeAbecsText('DSP000'));
    expect(fromLatin1(await result)).toBe('DSP000');
  });

  it('passes NTM notifications on and keeps waiting for the final answer', async () => {
    const { link, say } = await setup();
    const notes: string[] = [];
    const result = link.command('CEX', {
      blocking: true,
      timeoutMs: 60_000,
      onNotification: (t) => notes.push(t),
    });
    await advance(1);
    await say(ABECS.ACK);
    await say(encodeAbecsText('NTM000032INSERT OR SWIPE                 '));
    await advance(30_000);
    await say(encodeAbecsText('CEX000006' + '\x80\x40\x00\x0290'));
    expect(fromLatin1(await result).slice(0, 6)).toBe('CEX000');
    expect(notes).toEqual(['INSERT OR SWIPE']);
  });

  it('cancel sends CAN and resolves true on EOT, ignoring other bytes meanwhile', async () => {
    const { link, received, say } = await setup();
    const done = link.cancel();
    await advance(1);
    await say(encodeAbecsText('NTM000000'));
    await say(ABECS.EOT);
    expect(await done).toBe(true);
    expect(received).toEqual(['<24>']);
  });

  it('tries CAN three times, then reports false', async () => {
    const { link, received } = await setup();
    const done = link.cancel();
    await advance(6100);
    expect(await done).toBe(false);
    expect(received).toEqual(['<24>', '<24>', '<24>']);
  });

  it('an aborted command is cancelled on the PinPad (CAN) and rejects with the abort reason', async () => {
    const { link, received, say } = await setup();
    const controller = new AbortController();
    const result = link
      .command('GKY', { blocking: true, timeoutMs: 60_000, signal: controller.signal })
      .catch((e: unknown) => e);
    await advance(1);
    await say(ABECS.ACK);
    await advance(1000);
    controller.abort(new Error('stop'));
    await advance(1);
    await say(ABECS.EOT);
    await advance(1);
    expect(await result).toMatchObject({ message: 'stop' });
    expect(received).toEqual(['GKY', '<24>']);
  });

  it('a transport lost mid-answer ends with DIAG-LINK-003 and logs the partial packet', async () => {
    const { link, host, say, log } = await setup();
    const result = link.command('GIX').catch((e: unknown) => e);
    await advance(1);
    await say(ABECS.ACK);
    await say(encodeAbecsText('GIX000').subarray(0, 5));
    await advance(10);
    host.unplug();
    await advance(1);
    expect(await result).toMatchObject({ code: 'DIAG-LINK-003' });
    expect(log.at(-1)).toMatchObject({ direction: 'rx', hex: '1647495830' });
  });
});

describe('AbecsLink robustness (fast-check)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('any bytes from the device after ACK end the command within its bounds, with data or a link error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), async (chunks) => {
        const { link, say } = await setup();
        let outcome: unknown = 'pending';
        const result = link.command('GIX').then(
          (data) => (outcome = data),
          (e: unknown) => (outcome = e),
        );
        await advance(1);
        await say(ABECS.ACK);
        for (const c of chunks) await say(c);
        // Bound: 10 s response + 3 × (discard ≤ 5 s) + inter-byte slack.
        await advance(40_000);
        await result;
        expect(outcome).not.toBe('pending');
        if (!(outcome instanceof Uint8Array)) {
          expect(outcome).toBeInstanceOf(DriverError);
          expect(['DIAG-LINK-001', 'DIAG-LINK-002', 'DIAG-LINK-003']).toContain(
            (outcome as DriverError).code,
          );
        }
      }),
      { numRuns: 60 },
    );
  });
});
