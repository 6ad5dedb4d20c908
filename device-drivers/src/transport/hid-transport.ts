/**
 * USB HID devices (card readers) over `node-hid` 3, behind the common `Transport` interface.
 *
 * The report-id byte rule (node-hid README "Writing to a device" / hidapi `hid_write`): the first
 * byte of every buffer handed to `write()` or `sendFeatureReport()` is the report id, and it must
 * be 0x00 when the device does not use numbered reports — the OS strips it in that case, so a
 * forgotten 0x00 silently eats the first real byte. Reading a feature report returns the report id
 * first as well. This class owns that rule so drivers only ever see report bodies:
 *
 * - `write(bytes)` splits the bytes into output reports of `outputReportSize`, zero-pads the last
 *   one (HID reports have a fixed size) and prefixes each with `outputReportId` (0 by default).
 * - `data` events carry one input report each; with `inputReportId` set, its leading report-id
 *   byte is removed first (devices with numbered reports send it, e.g. IDTech readers use 0x01).
 * - `sendFeatureReport(id, body)` / `getFeatureReport(id, length)` add / remove the id byte.
 *
 * Pulling the device makes node-hid's read loop fail: that becomes `TransportError('unplugged')`.
 */
import type * as NodeHid from 'node-hid';
import { TransportEmitter } from './memory-transport.ts';
import { TransportError, type Transport, type TransportInfo } from './transport.ts';

/** The part of node-hid's `HIDAsync` this transport uses (a fake implements it in tests). */
export interface HidDeviceHandle {
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
  write(values: number[] | Buffer): Promise<number>;
  sendFeatureReport(data: number[] | Buffer): Promise<number>;
  getFeatureReport(reportId: number, reportLength: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
  product?: string | undefined;
}

/** Feature-report access; drivers detect it with `hasFeatureReports`. */
export interface FeatureReportCapable {
  sendFeatureReport(reportId: number, body: Uint8Array): Promise<void>;
  getFeatureReport(reportId: number, length: number): Promise<Uint8Array>;
}

export function hasFeatureReports(transport: Transport): transport is Transport & FeatureReportCapable {
  const t = transport as Partial<FeatureReportCapable>;
  return typeof t.sendFeatureReport === 'function' && typeof t.getFeatureReport === 'function';
}

export interface HidTransportOptions {
  /** hidraw / IOKit / Windows device path (preferred: unique when two identical readers are plugged). */
  path?: string;
  vendorId?: number;
  productId?: number;
  /** Report id of output reports; 0 when the device uses none (the 0x00 byte is still sent). */
  outputReportId?: number;
  /** Body bytes per output report (report size without the id byte). */
  outputReportSize?: number;
  /** Input reports begin with a report-id byte that is removed before `data`. */
  inputReportId?: boolean;
  info?: Partial<Omit<TransportInfo, 'kind' | 'path'>>;
  /** Opens the device; defaults to node-hid's `HIDAsync.open`. Tests inject a fake. */
  openDevice?: (
    target: { path: string } | { vendorId: number; productId: number },
  ) => Promise<HidDeviceHandle>;
  /** Lists devices; used to tell "not plugged in" from "no permission" when opening fails. */
  listDevices?: () => Promise<HidDeviceInfo[]>;
}

export const HID_PERMISSION_HINT =
  'On Linux, HID readers need read/write access to /dev/hidraw*: install the udev rule from the installation guide (or run: echo \'KERNEL=="hidraw*", SUBSYSTEM=="hidraw", MODE="0660", GROUP="plugdev"\' | sudo tee /etc/udev/rules.d/70-emdad-hid.rules), add yourself to "plugdev", then unplug and replug the reader.';

function hex4(n: number | undefined): string | undefined {
  return n === undefined ? undefined : n.toString(16).padStart(4, '0');
}

/** Loaded on first use: importing this module must not require libudev/libusb to be present. */
async function loadNodeHid(): Promise<typeof NodeHid> {
  return import('node-hid');
}

export class HidTransport extends TransportEmitter implements Transport, FeatureReportCapable {
  readonly info: TransportInfo;
  private device: HidDeviceHandle | null = null;
  private readonly options: HidTransportOptions;
  private closingOnPurpose = false;

  constructor(options: HidTransportOptions) {
    super();
    if (options.path === undefined && (options.vendorId === undefined || options.productId === undefined)) {
      throw new TypeError('HidTransport needs a path, or a vendorId and productId');
    }
    this.options = options;
    this.info = {
      ...options.info,
      kind: 'hid',
      path: options.path ?? `hid:${hex4(options.vendorId)}:${hex4(options.productId)}`,
      ...(options.vendorId === undefined ? {} : { vendorId: hex4(options.vendorId) }),
      ...(options.productId === undefined ? {} : { productId: hex4(options.productId) }),
    };
  }

  get isOpen(): boolean {
    return this.device !== null;
  }

  get outputReportId(): number {
    return this.options.outputReportId ?? 0;
  }

  async open(): Promise<void> {
    if (this.device)
      throw new TransportError('port_busy', `${this.info.path} is already open in this session.`);
    const path = this.options.path;
    const target: { path: string } | { vendorId: number; productId: number } =
      path !== undefined
        ? { path }
        : { vendorId: this.options.vendorId as number, productId: this.options.productId as number };
    let device: HidDeviceHandle;
    try {
      const open =
        this.options.openDevice ??
        (async (t: typeof target) => {
          const hid = await loadNodeHid();
          return (
            'path' in t ? hid.HIDAsync.open(t.path) : hid.HIDAsync.open(t.vendorId, t.productId)
          ) as Promise<HidDeviceHandle>;
        });
      device = await open(target);
    } catch (error) {
      throw await this.classifyOpenError(error);
    }
    this.device = device;
    this.closingOnPurpose = false;
    device.on('data', (data: Buffer) => {
      const body = this.options.inputReportId === true ? data.subarray(1) : data;
      if (body.length > 0) this.emit('data', new Uint8Array(body.buffer, body.byteOffset, body.length));
    });
    device.on('error', (error: unknown) => this.lose(error));
  }

  private async classifyOpenError(error: unknown): Promise<TransportError> {
    const text = error instanceof Error ? error.message : String(error);
    if (/busy|exclusive/i.test(text))
      return new TransportError(
        'port_busy',
        `${this.info.path}: the reader is in use by another program. Close it and try again.`,
        error,
      );
    if (/EACCES|permission|access denied/i.test(text))
      return new TransportError('permission_denied', `${this.info.path}: ${HID_PERMISSION_HINT}`, error);
    // hidapi says only "cannot open device": if the device is listed, we lack permission.
    try {
      const list = this.options.listDevices ?? (async () => (await loadNodeHid()).devicesAsync());
      const devices = await list();
      const present = devices.some((d) =>
        this.options.path !== undefined
          ? d.path === this.options.path
          : d.vendorId === this.options.vendorId && d.productId === this.options.productId,
      );
      if (present)
        return new TransportError('permission_denied', `${this.info.path}: ${HID_PERMISSION_HINT}`, error);
    } catch {
      // listing failed too: fall through to not_found
    }
    return new TransportError(
      'not_found',
      `${this.info.path}: the card reader was not found. Check the USB cable and plug the reader in again, then refresh the device list.`,
      error,
    );
  }

  private lose(error: unknown): void {
    const device = this.device;
    if (!device || this.closingOnPurpose) return;
    this.device = null;
    device.removeAllListeners('data');
    device.removeAllListeners('error');
    device.close().catch(() => undefined);
    const lost = new TransportError(
      'unplugged',
      `${this.info.path}: the card reader was disconnected. Plug it in again, wait a few seconds and run the test again.`,
      error,
    );
    this.emit('error', lost);
    this.emit('close', lost);
  }

  async close(): Promise<void> {
    const device = this.device;
    if (!device) return;
    this.closingOnPurpose = true;
    this.device = null;
    device.removeAllListeners('data');
    device.removeAllListeners('error');
    await device.close().catch(() => undefined);
    this.emit('close');
  }

  /** The output reports `write(bytes)` sends: [id, ...body zero-padded to the report size]. */
  toOutputReports(bytes: Uint8Array): Buffer[] {
    const size = this.options.outputReportSize ?? 64;
    const reports: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += size) {
      const report = Buffer.alloc(size + 1);
      report[0] = this.outputReportId;
      report.set(bytes.subarray(offset, offset + size), 1);
      reports.push(report);
    }
    return reports;
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (const report of this.toOutputReports(bytes)) {
      const device = this.requireOpen();
      try {
        await device.write(report);
      } catch (error) {
        this.lose(error);
        throw new TransportError(
          'unplugged',
          `${this.info.path}: writing to the card reader failed; it may have been unplugged.`,
          error,
        );
      }
    }
  }

  async sendFeatureReport(reportId: number, body: Uint8Array): Promise<void> {
    const device = this.requireOpen();
    const report = Buffer.alloc(body.length + 1);
    report[0] = reportId;
    report.set(body, 1);
    try {
      await device.sendFeatureReport(report);
    } catch (error) {
      throw new TransportError(
        'write_failed',
        `${this.info.path}: the reader refused the command (feature report ${reportId}).`,
        error,
      );
    }
  }

  /** Returns the report body (without the leading report-id byte). `length` is the body length. */
  async getFeatureReport(reportId: number, length: number): Promise<Uint8Array> {
    const device = this.requireOpen();
    try {
      const data = await device.getFeatureReport(reportId, length + 1);
      return Uint8Array.from(data.subarray(1));
    } catch (error) {
      throw new TransportError(
        'io_error',
        `${this.info.path}: reading feature report ${reportId} from the reader failed.`,
        error,
      );
    }
  }

  private requireOpen(): HidDeviceHandle {
    if (!this.device)
      throw new TransportError(
        'closed',
        `${this.info.path}: the connection to the card reader is closed. Connect again.`,
      );
    return this.device;
  }
}

/** HID devices node-hid sees, for discovery (device list in the app). */
export async function listHidDevices(): Promise<HidDeviceInfo[]> {
  const hid = await loadNodeHid();
  return hid.devicesAsync();
}
