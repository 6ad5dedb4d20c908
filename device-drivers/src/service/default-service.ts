/**
 * The device service wired to the real hardware stack: serial ports through `serialport`, the ABECS
 * and PP791-dialect drivers in auto-detect order, USB HID card readers through node-hid, and OS
 * discovery. Electron main, the local agent and the `emdad-diag` CLI all start from here; tests
 * build `DeviceService` with fakes instead.
 */
import { SerialPort } from 'serialport';
import { createAbecsPinpadDriver } from '../drivers/abecs-pinpad.ts';
import { createHidCardReaderDriver, variantForVendor } from '../drivers/hid-card-reader.ts';
import { createPp791Driver } from '../drivers/pp791.ts';
import {
  ABECS_LINE_SETTINGS,
  STX_LINE_SETTINGS,
  STX_SOFT_PARITY_LINE_SETTINGS,
} from '../diagnostics/protocols.ts';
import { HidTransport, listHidDevices } from '../transport/hid-transport.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import type { TransportInfo } from '../transport/transport.ts';
import { DeviceService, type DeviceServiceOptions, type SerialProtocolSupport } from './device-service.ts';

/** Auto-detect order: ABECS first (see diagnostics/auto-detect.ts), then the STX dialect. */
export const DEFAULT_SERIAL_PROTOCOLS: readonly SerialProtocolSupport[] = [
  {
    protocol: 'abecs',
    family: 'abecs_pinpad',
    lineSettings: ABECS_LINE_SETTINGS,
    createDriver: (transport) => createAbecsPinpadDriver(transport),
  },
  {
    protocol: 'stx',
    family: 'pp791_terminal',
    lineSettings: STX_LINE_SETTINGS,
    createDriver: (transport) => createPp791Driver(transport),
  },
  {
    // A 7E1 terminal behind an adapter (or pty) that only carries 8 bits: parity done in software.
    protocol: 'stx',
    family: 'pp791_terminal',
    variant: '7E1 parity in software',
    lineSettings: STX_SOFT_PARITY_LINE_SETTINGS,
    createDriver: (transport) => createPp791Driver(transport, { mode: '7E1-soft' }),
  },
];

/** Serial ports as the OS lists them (ptys never appear: add those with `addPath`). */
export async function discoverSerialPorts(): Promise<TransportInfo[]> {
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    kind: 'serial' as const,
    path: p.path,
    ...(p.vendorId ? { vendorId: p.vendorId } : {}),
    ...(p.productId ? { productId: p.productId } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
  }));
}

/**
 * HID card readers node-hid sees. Only vendors we have a driver for are listed: every keyboard and
 * mouse is a HID device too, and a technician must not be offered those.
 */
export async function discoverHidReaders(): Promise<TransportInfo[]> {
  const devices = await listHidDevices();
  const out: TransportInfo[] = [];
  for (const d of devices) {
    if (!d.path) continue;
    const vendorId = d.vendorId.toString(16).padStart(4, '0');
    if (variantForVendor(vendorId) === null) continue;
    out.push({
      kind: 'hid',
      path: d.path,
      vendorId,
      productId: d.productId.toString(16).padStart(4, '0'),
      ...(d.serialNumber ? { serialNumber: d.serialNumber } : {}),
      ...(d.manufacturer ? { manufacturer: d.manufacturer } : {}),
      ...(d.product ? { product: d.product } : {}),
    });
  }
  return out;
}

/** Both listings; one failing (no libudev for node-hid, say) does not hide the other. */
export async function discoverDevices(): Promise<TransportInfo[]> {
  const [serial, hid] = await Promise.allSettled([discoverSerialPorts(), discoverHidReaders()]);
  return [
    ...(serial.status === 'fulfilled' ? serial.value : []),
    ...(hid.status === 'fulfilled' ? hid.value : []),
  ];
}

export function createDeviceService(overrides: Partial<DeviceServiceOptions> = {}): DeviceService {
  return new DeviceService({
    serialProtocols: DEFAULT_SERIAL_PROTOCOLS,
    createSerialTransport: (path, line) => new SerialTransport({ path, ...line }),
    hid: {
      createTransport: (path, info) =>
        new HidTransport({
          path,
          ...(info?.vendorId ? { vendorId: Number.parseInt(info.vendorId, 16) } : {}),
          ...(info?.productId ? { productId: Number.parseInt(info.productId, 16) } : {}),
          ...(info
            ? {
                info: {
                  ...(info.serialNumber ? { serialNumber: info.serialNumber } : {}),
                  ...(info.manufacturer ? { manufacturer: info.manufacturer } : {}),
                  ...(info.product ? { product: info.product } : {}),
                },
              }
            : {}),
        }),
      createDriver: (transport) => createHidCardReaderDriver(transport),
      family: 'hid_card_reader',
    },
    discover: discoverDevices,
    ...overrides,
  });
}
