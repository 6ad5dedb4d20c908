/**
 * The production wiring of `createDeviceService` for USB HID card readers, down to node-hid's
 * `HIDAsync`: node-hid is replaced (the one OS boundary no test machine has a reader behind) by a
 * device double that checks the reports exactly as hidapi would receive them.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HidReaderSimulator, loadHidReaderScenario } from '../simulators/hid-reader-sim.ts';
import type { HidDeviceHandle } from '../transport/hid-transport.ts';
import type { DeviceService } from './device-service.ts';
import { createDeviceService } from './default-service.ts';

/** The device node-hid's `HIDAsync.open(path)` hands out next (set per test). */
const hid = vi.hoisted(() => ({
  open: null as null | ((path: string) => Promise<unknown>),
}));
vi.mock('node-hid', () => ({
  HIDAsync: {
    open: (path: unknown) => {
      if (typeof path !== 'string' || !hid.open) return Promise.reject(new Error('cannot open device'));
      return hid.open(path);
    },
  },
  devicesAsync: async () => [],
}));

/**
 * An IDTech-style reader as hidapi sees it: every output report is the report id 0x01 and 63 body
 * bytes (64 in all), and every input report starts with the id. Anything else is refused, as a
 * real reader ignores a report it does not know.
 */
class IdtechReaderDouble extends EventEmitter implements HidDeviceHandle {
  readonly reports: Buffer[] = [];
  constructor(private readonly inner: HidReaderSimulator) {
    super();
    inner.on('data', (body) => this.emit('data', Buffer.from([0x01, ...body])));
  }
  async write(values: number[] | Buffer): Promise<number> {
    const report = Buffer.from(values);
    this.reports.push(report);
    if (report[0] !== 0x01 || report.length !== 64) throw new Error('not an IDTech output report');
    await this.inner.write(report.subarray(1));
    return report.length;
  }
  async sendFeatureReport(): Promise<number> {
    return 0;
  }
  async getFeatureReport(): Promise<Buffer> {
    return Buffer.alloc(0);
  }
  async close(): Promise<void> {}
}

let service: DeviceService | null = null;
afterEach(async () => {
  await service?.shutdown();
  service = null;
  hid.open = null;
});

describe('createDeviceService: USB HID readers', () => {
  it('an IDTech reader found by discovery is spoken to with numbered 64-byte reports, and identifies', async () => {
    const inner = new HidReaderSimulator(await loadHidReaderScenario('idtech-healthy'));
    await inner.open();
    const device = new IdtechReaderDouble(inner);
    const opened: string[] = [];
    hid.open = async (path) => {
      opened.push(path);
      return device;
    };
    service = createDeviceService({
      discover: async () => [
        { kind: 'hid', path: '/dev/hidraw9', vendorId: '0acd', productId: '3530', manufacturer: 'ID TECH' },
      ],
    });
    const [listed] = await service.listDevices();
    expect(listed).toMatchObject({ path: '/dev/hidraw9', kind: 'hid', vendorId: '0acd' });

    const session = await service.connect('/dev/hidraw9');
    expect(session).toMatchObject({ protocol: 'hid', family: 'hid_card_reader' });
    const identity = await service.identify(session.sessionId);
    expect(identity.firmwareVersion).toBe('NEO v1.01.151');
    expect(opened[0]).toBe('/dev/hidraw9');
    expect(device.reports.length).toBeGreaterThan(0);
    expect(device.reports.every((r) => r.length === 64 && r[0] === 0x01)).toBe(true);
    await inner.close();
  });
});
