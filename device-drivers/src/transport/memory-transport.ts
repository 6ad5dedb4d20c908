/**
 * An in-memory connected pair of transports for unit tests and in-process simulators: what one end
 * writes arrives as `data` on the other end, asynchronously (a microtask later), like a real link.
 * `unplug()` makes both ends fail the way a pulled USB cable does.
 */
import { EventEmitter } from 'node:events';
import {
  TransportError,
  type SerialLineSettings,
  type Transport,
  type TransportEvents,
  type TransportInfo,
} from './transport.ts';

/** Typed `on`/`off` over EventEmitter, shared by the transports in this folder. */
export abstract class TransportEmitter {
  protected readonly emitter = new EventEmitter();

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.emitter.off(event, listener);
    return this;
  }

  protected emit<E extends keyof TransportEvents>(event: E, ...args: Parameters<TransportEvents[E]>): void {
    // An 'error' with no listener would throw out of EventEmitter; a transport must never do that.
    if (event === 'error' && this.emitter.listenerCount('error') === 0) return;
    this.emitter.emit(event, ...args);
  }
}

export class MemoryTransport extends TransportEmitter implements Transport {
  readonly info: TransportInfo;
  peer: MemoryTransport | null = null;
  private opened = false;
  private unplugged = false;
  /** Every chunk written by this end, for assertions. */
  readonly written: Uint8Array[] = [];
  /** When set, bytes take their serial wire time to cross (benchmarks at a real baud rate). */
  private readonly msPerByte: number;
  private lineFreeAt = 0;

  constructor(
    label: string,
    line?: Pick<SerialLineSettings, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>,
  ) {
    super();
    this.info = { kind: 'memory', path: label };
    this.msPerByte = line
      ? ((1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits) * 1000) / line.baudRate
      : 0;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  async open(): Promise<void> {
    if (this.unplugged) throw new TransportError('not_found', `${this.info.path} is unplugged.`);
    if (this.opened) throw new TransportError('port_busy', `${this.info.path} is already open.`);
    this.opened = true;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.emit('close');
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (!this.opened)
      throw new TransportError(this.unplugged ? 'unplugged' : 'closed', `${this.info.path} is not open.`);
    const copy = Uint8Array.from(bytes);
    this.written.push(copy);
    const peer = this.peer;
    if (this.msPerByte === 0) {
      queueMicrotask(() => peer?.deliver(copy));
      return;
    }
    // Paced like a UART: this chunk starts when the previous one has left, and both the write
    // (drain) and the delivery complete when its last bit is on the other side.
    const now = performance.now();
    const start = Math.max(now, this.lineFreeAt);
    this.lineFreeAt = start + copy.length * this.msPerByte;
    await new Promise((r) => setTimeout(r, this.lineFreeAt - now));
    peer?.deliver(copy);
  }

  /** Bytes arriving from the far end. */
  deliver(bytes: Uint8Array): void {
    if (this.opened && bytes.length > 0) this.emit('data', bytes);
  }

  /** Simulates the cable being pulled: this end errors and closes; reopening fails until `replug()`. */
  unplug(): void {
    this.unplugged = true;
    if (!this.opened) return;
    this.opened = false;
    const error = new TransportError('unplugged', `${this.info.path} was unplugged.`);
    this.emit('error', error);
    this.emit('close', error);
  }

  replug(): void {
    this.unplugged = false;
  }
}

/**
 * A connected pair: `[host, device]`. Neither end is open yet. With `line`, each direction carries
 * bytes at that baud rate (ptys and the default pair are instant), for the drivers bench.
 */
export function createMemoryPair(
  hostLabel = 'memory:host',
  deviceLabel = 'memory:device',
  line?: Pick<SerialLineSettings, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>,
): [MemoryTransport, MemoryTransport] {
  const host = new MemoryTransport(hostLabel, line);
  const device = new MemoryTransport(deviceLabel, line);
  host.peer = device;
  device.peer = host;
  return [host, device];
}
