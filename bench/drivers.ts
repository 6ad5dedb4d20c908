/**
 * `npm run bench -- drivers` → bench/results/drivers.json
 *
 * 1. Codec throughput, per codec, in MB/s of wire bytes through encode + decode (the decoder fed in
 *    64-byte chunks, as serial reads arrive), with every frame checked to round-trip. Top-level
 *    `ratio` = the ABECS codec's throughput ÷ the 115,200-baud wire rate (11,520 bytes/s at 10 bits
 *    a byte): how many times faster than the fastest line we drive the codec keeps up. Target ≥ 1000.
 * 2. The full ABECS suite (open, identify, display, keypad, card events, key slots, close) at
 *    19,200 baud over a real pty (socat) against the ABECS simulator: wall time vs the sum of every
 *    byte's wire time plus the simulator's configured think/technician time. A pty moves bytes
 *    instantly, so both ends are paced to 19,200 baud (10 bits a byte, one byte at a time on the
 *    line per direction). `suiteOverhead` = wall ÷ (wire + think) − 1. Target ≤ 0.20.
 */
import { performance } from 'node:perf_hooks';
import { createAbecsPinpadDriver } from '@emdad/device-drivers/drivers/abecs-pinpad';
import { runDiagnostics } from '@emdad/device-drivers/diagnostics/runner';
import { ABECS_PINPAD_SUITE } from '@emdad/device-drivers/diagnostics/suites';
import { AbecsDecoder, encodeAbecsFrame, ABECS_MAX_DATA } from '@emdad/device-drivers/framing/abecs';
import { decodeSwipeReport, encodeSwipeReport } from '@emdad/device-drivers/framing/magtek-swipe';
import { StxDecoder, encodeStxFrame, STX_MAX_PAYLOAD } from '@emdad/device-drivers/framing/stx-lrc';
import { VivoDecoder, encodeVivoCommand } from '@emdad/device-drivers/framing/vivotech2';
import { AbecsPinpadSimulator, loadAbecsScenario } from '@emdad/device-drivers/simulators/abecs-pinpad-sim';
import { startPtyPair } from '@emdad/device-drivers/testing/pty-pair';
import { SerialTransport } from '@emdad/device-drivers/transport/serial-transport';
import type { Transport, TransportEvents, TransportInfo } from '@emdad/device-drivers/transport/transport';
import { writeResult } from './_support.ts';

const WIRE_115200_BYTES_PER_S = 115_200 / 10;
const SUITE_BAUD = 19_200;
const MIN_MEASURE_MS = Number(process.env.BENCH_CODEC_MS ?? 1_500);
const CHUNK = 64;

/** Deterministic bytes (xorshift32), so every run measures the same input. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface CodecFigures {
  frames: number;
  wireBytes: number;
  encodeMs: number;
  decodeMs: number;
  /** Wire bytes per second through encode + decode, in MB/s (10^6 bytes). */
  throughputMBps: number;
  ratioTo115200: number;
}

/**
 * Runs encode over all payloads and then decode of the concatenated wire stream, repeated until at
 * least MIN_MEASURE_MS of codec time; `decodeAll` returns how many frames came back whole.
 */
function measureCodec<T>(
  payloads: T[],
  encode: (p: T) => Uint8Array,
  decodeAll: (wire: Uint8Array) => number,
): CodecFigures {
  // Warm-up (JIT) and a correctness check: every frame must come back.
  const warm = payloads.map(encode);
  const warmWire = concat(warm);
  const decoded = decodeAll(warmWire);
  if (decoded !== payloads.length)
    throw new Error(`codec round trip lost frames: ${decoded} of ${payloads.length}`);

  let encodeMs = 0;
  let decodeMs = 0;
  let frames = 0;
  let wireBytes = 0;
  while (encodeMs + decodeMs < MIN_MEASURE_MS) {
    const t0 = performance.now();
    const encoded = payloads.map(encode);
    const t1 = performance.now();
    const wire = concat(encoded);
    const t2 = performance.now();
    const n = decodeAll(wire);
    const t3 = performance.now();
    if (n !== payloads.length) throw new Error('codec round trip lost frames');
    encodeMs += t1 - t0;
    decodeMs += t3 - t2;
    frames += payloads.length;
    wireBytes += wire.length;
  }
  const bytesPerS = wireBytes / ((encodeMs + decodeMs) / 1000);
  return {
    frames,
    wireBytes,
    encodeMs: round(encodeMs),
    decodeMs: round(decodeMs),
    throughputMBps: round(bytesPerS / 1e6),
    ratioTo115200: Math.round(bytesPerS / WIRE_115200_BYTES_PER_S),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function chunked<E>(wire: Uint8Array, push: (c: Uint8Array) => E[], isFrame: (e: E) => boolean): number {
  let frames = 0;
  for (let i = 0; i < wire.length; i += CHUNK) {
    for (const e of push(wire.subarray(i, i + CHUNK))) if (isFrame(e)) frames += 1;
  }
  return frames;
}

function codecBenchmarks(): Record<string, CodecFigures> {
  const random = rng(0xe3dad);
  // ABECS: payloads of every size up to the 2049-byte limit, any byte value (escapes included).
  const abecsPayloads = Array.from({ length: 400 }, (_, i) => {
    const size = i === 0 ? ABECS_MAX_DATA : 1 + Math.floor(random() * ABECS_MAX_DATA);
    return Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
  });
  const abecs = measureCodec(abecsPayloads, encodeAbecsFrame, (wire) => {
    const decoder = new AbecsDecoder();
    return chunked(
      wire,
      (c) => decoder.push(c),
      (e) => e.type === 'frame',
    );
  });

  // STX/ETX/LRC: printable FS-separated payloads (POSLink-style), up to the 1024-byte limit.
  const stxPayloads = Array.from({ length: 400 }, () => {
    const size = 1 + Math.floor(random() * STX_MAX_PAYLOAD);
    return Uint8Array.from({ length: size }, () =>
      random() < 0.05 ? 0x1c : 0x20 + Math.floor(random() * 95),
    );
  });
  const stx = measureCodec(
    stxPayloads,
    (p) => encodeStxFrame('data', p),
    (wire) => {
      const decoder = new StxDecoder();
      return chunked(
        wire,
        (c) => decoder.push(c),
        (e) => e.type === 'frame',
      );
    },
  );

  // ViVOtech2 commands with data up to 1 KB.
  const vivoPayloads = Array.from({ length: 400 }, () =>
    Uint8Array.from({ length: Math.floor(random() * 1024) }, () => Math.floor(random() * 256)),
  );
  const vivotech2 = measureCodec(
    vivoPayloads,
    (p) => encodeVivoCommand(0x2c, 0x01, p),
    (wire) => {
      const decoder = new VivoDecoder('command');
      return chunked(
        wire,
        (c) => decoder.push(c),
        (e) => e.type === 'frame',
      );
    },
  );

  // MagTek 337-byte swipe reports (one report per swipe, decoded whole as HID delivers them).
  const swipes = Array.from({ length: 400 }, (_, i) => ({
    tracks: [
      { data: `%B4111111111111111^TEST/EMDAD ${i}^29121010000000000000?` },
      { data: `;4111111111111111=2912101000000000${String(i % 10000).padStart(4, '0')}?` },
      { data: '' },
    ],
  }));
  const magtek = measureCodec(swipes, encodeSwipeReport, (wire) => {
    let ok = 0;
    for (let i = 0; i + 337 <= wire.length; i += 337)
      if (decodeSwipeReport(wire.subarray(i, i + 337)).ok) ok += 1;
    return ok;
  });
  return { abecs, stx, vivotech2, magtek };
}

/**
 * Paces a transport's writes to a baud rate: the line carries one byte every 10/baud s, a write
 * is delivered once its last byte would have crossed the wire, and writes queue behind each other.
 */
class PacedTransport implements Transport {
  bytes = 0;
  private lineFreeAt = 0;
  constructor(
    private readonly inner: Transport,
    private readonly baud: number,
  ) {}
  get info(): TransportInfo {
    return this.inner.info;
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async write(bytes: Uint8Array): Promise<void> {
    this.bytes += bytes.length;
    const now = performance.now();
    const start = Math.max(now, this.lineFreeAt);
    this.lineFreeAt = start + (bytes.length * 10 * 1000) / this.baud;
    const wait = this.lineFreeAt - now;
    // Timers cannot sleep less than ~1 ms: shorter waits are carried by lineFreeAt for the next write.
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    await this.inner.write(bytes);
  }
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.inner.on(event, listener);
    return this;
  }
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.inner.off(event, listener);
    return this;
  }
}

async function abecsSuiteBenchmark() {
  const pair = await startPtyPair();
  const deviceSerial = new SerialTransport({ path: pair.devicePath, baudRate: SUITE_BAUD });
  const hostSerial = new SerialTransport({ path: pair.hostPath, baudRate: SUITE_BAUD });
  try {
    await deviceSerial.open();
    const device = new PacedTransport(deviceSerial, SUITE_BAUD);
    const simulator = new AbecsPinpadSimulator(await loadAbecsScenario('healthy'));
    simulator.attach(device);
    const host = new PacedTransport(hostSerial, SUITE_BAUD);
    await host.open();
    const driver = createAbecsPinpadDriver(host);
    const started = performance.now();
    const result = await runDiagnostics({ driver, suite: ABECS_PINPAD_SUITE, port: pair.hostPath });
    const wallMs = performance.now() - started;
    simulator.detach();
    if (result.verdict !== 'healthy')
      throw new Error(
        `ABECS suite did not pass: ${JSON.stringify(result.steps.map((s) => [s.id, s.status, s.message]))}`,
      );
    const wireBytes = host.bytes + device.bytes;
    const wireMs = (wireBytes * 10 * 1000) / SUITE_BAUD;
    const thinkMs = simulator.stats.thinkMs;
    const loggedFrames = result.steps.reduce((n, s) => n + s.frames.length, 0);
    return {
      baud: SUITE_BAUD,
      steps: result.steps.length,
      verdict: result.verdict,
      commands: simulator.stats.commands,
      frames: loggedFrames,
      wireBytes,
      wireMs: round(wireMs, 1),
      thinkMs,
      expectedMs: round(wireMs + thinkMs, 1),
      wallMs: round(wallMs, 1),
      overhead: round(wallMs / (wireMs + thinkMs) - 1, 4),
    };
  } finally {
    await hostSerial.close().catch(() => undefined);
    await deviceSerial.close().catch(() => undefined);
    await pair.stop();
  }
}

const codecs = codecBenchmarks();
for (const [name, f] of Object.entries(codecs))
  console.log(`${name}: ${f.throughputMBps} MB/s (${f.ratioTo115200}× 115200 baud)`);
// Suite runs are short and timer-bound: take the median of three to damp scheduler noise.
const suites = [];
for (let i = 0; i < 3; i += 1) suites.push(await abecsSuiteBenchmark());
suites.sort((a, b) => a.overhead - b.overhead);
const suite = suites[1]!;
console.log(
  `ABECS suite @${SUITE_BAUD}: wall ${suite.wallMs} ms vs wire ${suite.wireMs} + think ${suite.thinkMs} ms → overhead ${(suite.overhead * 100).toFixed(1)}%`,
);

writeResult('drivers', {
  ratio: codecs.abecs!.ratioTo115200,
  ratioDefinition:
    'ABECS codec (encode + decode) throughput in wire bytes/s ÷ 11,520 bytes/s (115,200 baud, 10 bits a byte); target ≥ 1000',
  codecs,
  suiteOverhead: suite.overhead,
  suiteOverheadDefinition:
    'full ABECS suite wall time ÷ (wire time of every byte at 19,200 baud + simulator think/technician time) − 1, median of 3 runs over a socat pty; target ≤ 0.20. Wire and think time overlap a little (the PinPad starts thinking while its ACK is on the line), so a value at or just below 0 means no measurable overhead.',
  abecsSuite: suite,
  abecsSuiteRuns: suites.map((s) => ({ wallMs: s.wallMs, expectedMs: s.expectedMs, overhead: s.overhead })),
});
