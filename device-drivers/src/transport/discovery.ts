/**
 * What is plugged in: serial ports (with the USB vendor/product/serial the OS knows, where there is
 * one), USB HID devices through node-hid, and paths added by hand (ptys and some adapters are never
 * listed by the OS). A watcher polls and reports devices appearing and disappearing; the reconnect
 * helper waits for a device that went away to come back — possibly under a new path, as a USB
 * adapter re-enumerated as /dev/ttyUSB1 instead of /dev/ttyUSB0 — and reopens it.
 */
import { EventEmitter } from 'node:events';
import { access } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import { listHidDevices } from './hid-transport.ts';
import type { Transport, TransportInfo } from './transport.ts';

const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** Serial ports as the OS lists them, with USB identity where present. */
export async function listSerialPorts(): Promise<TransportInfo[]> {
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    kind: 'serial' as const,
    path: p.path,
    ...(p.vendorId ? { vendorId: p.vendorId.toLowerCase() } : {}),
    ...(p.productId ? { productId: p.productId.toLowerCase() } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
  }));
}

/**
 * USB HID devices (node-hid). Empty, not an error, when node-hid cannot load (no libudev/libusb):
 * serial diagnostics must still work on such a laptop.
 */
export async function listHidInterfaces(): Promise<TransportInfo[]> {
  let devices: Awaited<ReturnType<typeof listHidDevices>>;
  try {
    devices = await listHidDevices();
  } catch {
    return [];
  }
  const out: TransportInfo[] = [];
  for (const d of devices) {
    if (!d.path) continue;
    out.push({
      kind: 'hid',
      path: d.path,
      vendorId: hex4(d.vendorId),
      productId: hex4(d.productId),
      ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
      ...(d.manufacturer ? { manufacturer: d.manufacturer } : {}),
      ...(d.product ? { product: d.product } : {}),
    });
  }
  return out;
}

/** Paths added by hand that exist right now (a pty from the simulator, an adapter the OS hides). */
export async function listExtraPaths(paths: readonly string[]): Promise<TransportInfo[]> {
  const out: TransportInfo[] = [];
  for (const path of paths) {
    try {
      await access(path);
      out.push({ kind: 'serial', path });
    } catch {
      // not there now
    }
  }
  return out;
}

export interface DiscoveryOptions {
  /** Serial paths to include when they exist (ptys never appear in the OS listing). */
  extraPaths?: readonly string[];
  /** Include HID devices (default true). */
  hid?: boolean;
  /** Injected listers, for tests. */
  listSerial?: () => Promise<TransportInfo[]>;
  listHid?: () => Promise<TransportInfo[]>;
}

/** One snapshot of everything attached, serial first, de-duplicated by kind and path. */
export async function discoverDevices(options: DiscoveryOptions = {}): Promise<TransportInfo[]> {
  const [serial, hid, extra] = await Promise.all([
    (options.listSerial ?? listSerialPorts)().catch(() => []),
    options.hid === false ? Promise.resolve([]) : (options.listHid ?? listHidInterfaces)().catch(() => []),
    listExtraPaths(options.extraPaths ?? []),
  ]);
  const seen = new Map<string, TransportInfo>();
  for (const d of [...serial, ...extra, ...hid]) if (!seen.has(deviceKey(d))) seen.set(deviceKey(d), d);
  return [...seen.values()];
}

export function deviceKey(info: Pick<TransportInfo, 'kind' | 'path'>): string {
  return `${info.kind}:${info.path}`;
}

/**
 * Whether `candidate` is the same physical device as `known`: same USB vendor, product and serial
 * number when the device has a serial number (the path may have changed), else the same path.
 */
export function sameDevice(known: TransportInfo, candidate: TransportInfo): boolean {
  if (known.kind !== candidate.kind) return false;
  if (known.serialNumber && known.vendorId && known.productId) {
    return (
      candidate.serialNumber === known.serialNumber &&
      candidate.vendorId === known.vendorId &&
      candidate.productId === known.productId
    );
  }
  return known.path === candidate.path;
}

/** USB vendor ids a technician meets on a bench, to label the device list. */
const VENDOR_HINTS: Record<string, string> = {
  '0b00': 'Ingenico',
  '11ca': 'Verifone',
  '0801': 'MagTek',
  '0acd': 'ID TECH',
  '0403': 'FTDI USB-serial adapter',
  '067b': 'Prolific USB-serial adapter',
  '10c4': 'Silicon Labs USB-serial adapter',
  '1a86': 'WCH (CH340) USB-serial adapter',
};

export function vendorHint(vendorId: string | undefined): string | null {
  return vendorId ? (VENDOR_HINTS[vendorId.toLowerCase()] ?? null) : null;
}

export interface DeviceWatcherEvents {
  added: (device: TransportInfo) => void;
  removed: (device: TransportInfo) => void;
  /** Listing failed (e.g. udev unavailable); the watcher keeps polling. */
  error: (error: unknown) => void;
}

export interface DeviceWatcherOptions extends DiscoveryOptions {
  /** Poll period (default 1000 ms): fast enough to feel live, cheap on a laptop battery. */
  intervalMs?: number;
}

/**
 * Polls discovery and reports changes. Polling, not udev events: it works the same on Linux,
 * Windows and macOS, for ptys and for devices node-hid can only enumerate.
 */
export class DeviceWatcher {
  private readonly emitter = new EventEmitter();
  private current = new Map<string, TransportInfo>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private extraPaths: string[];

  constructor(private readonly options: DeviceWatcherOptions = {}) {
    this.extraPaths = [...(options.extraPaths ?? [])];
  }

  on<E extends keyof DeviceWatcherEvents>(event: E, listener: DeviceWatcherEvents[E]): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof DeviceWatcherEvents>(event: E, listener: DeviceWatcherEvents[E]): this {
    this.emitter.off(event, listener);
    return this;
  }

  /** The devices seen at the last poll. */
  list(): TransportInfo[] {
    return [...this.current.values()];
  }

  addPath(path: string): void {
    if (!this.extraPaths.includes(path)) this.extraPaths.push(path);
  }

  removePath(path: string): void {
    this.extraPaths = this.extraPaths.filter((p) => p !== path);
  }

  /** Polls once now (the first call reports everything present as `added`). */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let devices: TransportInfo[];
    try {
      devices = await discoverDevices({ ...this.options, extraPaths: this.extraPaths });
    } catch (error) {
      if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', error);
      return;
    }
    const next = new Map(devices.map((d) => [deviceKey(d), d]));
    const previous = this.current;
    this.current = next;
    for (const [key, d] of previous) if (!next.has(key)) this.emitter.emit('removed', d);
    for (const [key, d] of next) if (!previous.has(key)) this.emitter.emit('added', d);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export interface ReconnectOptions extends DiscoveryOptions {
  /** Give up after this long (default 60 s: long enough to reseat a cable). */
  timeoutMs?: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Waits until the device `known` is attached again and returns how it is attached now (its path may
 * have changed). Rejects on timeout or abort with a sentence for the technician.
 */
export async function waitForDevice(
  known: TransportInfo,
  options: ReconnectOptions = {},
): Promise<TransportInfo> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const extraPaths = [...(options.extraPaths ?? []), ...(known.kind === 'serial' ? [known.path] : [])];
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
    const found = (await discoverDevices({ ...options, extraPaths })).find((d) => sameDevice(known, d));
    if (found) return { ...known, ...found };
    if (Date.now() >= deadline) {
      throw new Error(
        `The device on ${known.path} did not come back. Check the cable and power, then connect it again from the device list.`,
      );
    }
    await new Promise((r) =>
      setTimeout(r, Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now()))),
    );
  }
}

/**
 * Reconnect helper: waits for the device, then opens a transport made for where it is now. Opening
 * right after a USB device re-appears can fail briefly (udev still setting permissions): such
 * failures are retried until the deadline.
 */
export async function reconnect(
  known: TransportInfo,
  createTransport: (info: TransportInfo) => Transport,
  options: ReconnectOptions = {},
): Promise<Transport> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    const info = await waitForDevice(known, { ...options, timeoutMs: Math.max(0, deadline - Date.now()) });
    const transport = createTransport(info);
    try {
      await transport.open();
      return transport;
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
  }
  throw lastError instanceof Error
    ? lastError
    : new Error(`The device on ${known.path} could not be opened again.`);
}
