import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HidTransport, hasFeatureReports, type HidDeviceHandle } from './hid-transport.ts';
import { TransportError } from './transport.ts';

/** Stands in for node-hid's HIDAsync: records what would reach hidapi. */
class FakeHidDevice extends EventEmitter implements HidDeviceHandle {
  readonly writes: Buffer[] = [];
  readonly featureWrites: Buffer[] = [];
  featureAnswer = Buffer.from([0x00, 0x00, 0x03, 0x41, 0x42, 0x43]);
  featureRequests: [number, number][] = [];
  closed = false;
  async write(values: number[] | Buffer): Promise<number> {
    const b = Buffer.from(values);
    this.writes.push(b);
    return b.length;
  }
  async sendFeatureReport(data: number[] | Buffer): Promise<number> {
    const b = Buffer.from(data);
    this.featureWrites.push(b);
    return b.length;
  }
  async getFeatureReport(reportId: number, reportLength: number): Promise<Buffer> {
    this.featureRequests.push([reportId, reportLength]);
    return this.featureAnswer;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

async function openWith(options: Partial<ConstructorParameters<typeof HidTransport>[0]> = {}) {
  const device = new FakeHidDevice();
  const targets: unknown[] = [];
  const transport = new HidTransport({
    vendorId: 0x0801,
    productId: 0x0002,
    openDevice: async (target) => {
      targets.push(target);
      return device;
    },
    ...options,
  });
  await transport.open();
  return { transport, device, targets };
}

describe('HidTransport (node-hid report-id rule)', () => {
  it('prefixes 0x00 when the device uses no report ids, and pads to the report size', async () => {
    const { transport, device, targets } = await openWith({ outputReportSize: 8 });
    expect(targets).toEqual([{ vendorId: 0x0801, productId: 0x0002 }]);
    expect(transport.info).toMatchObject({
      kind: 'hid',
      vendorId: '0801',
      productId: '0002',
      path: 'hid:0801:0002',
    });
    await transport.write(Uint8Array.of(1, 2, 3));
    expect(device.writes.map((b) => b.toString('hex'))).toEqual(['000102030000000000']);
  });

  it("splits long writes into numbered reports with the device's report id", async () => {
    const { transport, device } = await openWith({
      path: '/dev/hidraw3',
      outputReportId: 0x01,
      outputReportSize: 4,
    });
    await transport.write(Uint8Array.of(10, 11, 12, 13, 14, 15));
    expect(device.writes.map((b) => [...b])).toEqual([
      [1, 10, 11, 12, 13],
      [1, 14, 15, 0, 0],
    ]);
    expect(transport.info.path).toBe('/dev/hidraw3');
  });

  it('strips the report-id byte from input reports only when told the device numbers them', async () => {
    const plain = await openWith();
    const got: number[][] = [];
    plain.transport.on('data', (d) => got.push([...d]));
    plain.device.emit('data', Buffer.from([0x00, 0x05, 0x06]));
    const numbered = await openWith({ inputReportId: true });
    numbered.transport.on('data', (d) => got.push([...d]));
    numbered.device.emit('data', Buffer.from([0x01, 0x05, 0x06]));
    expect(got).toEqual([
      [0x00, 0x05, 0x06],
      [0x05, 0x06],
    ]);
  });

  it('feature reports: id byte added on send, removed on get', async () => {
    const { transport, device } = await openWith();
    expect(hasFeatureReports(transport)).toBe(true);
    await transport.sendFeatureReport(0, Uint8Array.of(0x00, 0x01, 0x00));
    expect([...(device.featureWrites[0] ?? [])]).toEqual([0x00, 0x00, 0x01, 0x00]);
    const body = await transport.getFeatureReport(0, 5);
    expect(device.featureRequests).toEqual([[0, 6]]);
    expect([...body]).toEqual([0x00, 0x03, 0x41, 0x42, 0x43]);
  });

  it('a read error from node-hid (device pulled) becomes an unplugged error and close', async () => {
    const { transport, device } = await openWith();
    const seen: string[] = [];
    transport.on('error', (e) => seen.push(`error:${e.code}`));
    transport.on('close', (e) => seen.push(`close:${e?.code ?? 'clean'}`));
    device.emit('error', new Error('could not read from HID device'));
    expect(seen).toEqual(['error:unplugged', 'close:unplugged']);
    expect(transport.isOpen).toBe(false);
    expect(device.closed).toBe(true);
    await expect(transport.write(Uint8Array.of(1))).rejects.toMatchObject({ code: 'closed' });
  });

  it('tells "not plugged in" from "no permission" when hidapi only says it cannot open', async () => {
    const failing = (listed: boolean) =>
      new HidTransport({
        vendorId: 0x0801,
        productId: 0x0002,
        openDevice: async () => {
          throw new Error('cannot open device with vendor id 0x801 and product id 0x2');
        },
        listDevices: async () =>
          listed ? [{ vendorId: 0x0801, productId: 0x0002, path: '/dev/hidraw0' }] : [],
      });
    const denied = await failing(true)
      .open()
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(TransportError);
    expect(denied).toMatchObject({ code: 'permission_denied' });
    expect((denied as Error).message).toMatch(/udev/);
    await expect(failing(false).open()).rejects.toMatchObject({ code: 'not_found' });
  });

  it('closes cleanly and refuses a second open of the same session', async () => {
    const { transport, device } = await openWith();
    await expect(transport.open()).rejects.toMatchObject({ code: 'port_busy' });
    let closed = 0;
    transport.on('close', (e) => {
      expect(e).toBeUndefined();
      closed++;
    });
    await transport.close();
    expect(device.closed).toBe(true);
    expect(closed).toBe(1);
  });

  it('with the real node-hid binding, a reader that is not plugged in is "not_found"', async () => {
    const transport = new HidTransport({ vendorId: 0xfffe, productId: 0xfffd });
    await expect(transport.open()).rejects.toMatchObject({ code: 'not_found' });
    expect(transport.isOpen).toBe(false);
  });

  it('needs a path or a vendor/product pair', () => {
    expect(() => new HidTransport({ vendorId: 1 })).toThrow(TypeError);
  });
});
