/**
 * The device service wired to the real hardware stack: serial ports through `serialport`, the ABECS
 * and PP791-dialect drivers in auto-detect order, USB HID card readers through node-hid, and OS
 * discovery. Electron main, the local agent and the `emdad-diag` CLI all start from here; tests
 * build `DeviceService` with fakes instead.
 */
import { createAbecsPinpadDriver } from '../drivers/abecs-pinpad.ts';
import {
  createHidCardReaderDriver,
  createHidReaderTransport,
  variantForVendor,
} from '../drivers/hid-card-reader.ts';
import { createPp791Driver } from '../drivers/pp791.ts';
import {
  ABECS_LINE_SETTINGS,
  STX_LINE_SETTINGS,
  STX_SOFT_PARITY_LINE_SETTINGS,
} from '../diagnostics/protocols.ts';
import { discoverDevices, listHidInterfaces } from '../transport/discovery.ts';
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

/**
 * Everything attached that Emdad can test: serial ports (with USB identity) and the HID card readers
 * we have a driver for — every keyboard and mouse is a HID device too, and a technician must not be
 * offered those. Either listing failing (no libudev for node-hid, say) does not hide the other.
 */
export async function discoverTestableDevices(): Promise<TransportInfo[]> {
  return discoverDevices({
    listHid: async () => (await listHidInterfaces()).filter((d) => variantForVendor(d.vendorId) !== null),
  });
}

/** What discovery knew about a HID path, minus the fields the transport sets itself. */
function usbIdentity(info: TransportInfo | null): Partial<Omit<TransportInfo, 'kind' | 'path'>> {
  if (!info) return {};
  const { vendorId, productId, serialNumber, manufacturer, product } = info;
  return Object.fromEntries(
    Object.entries({ vendorId, productId, serialNumber, manufacturer, product }).filter(
      ([, v]) => v !== undefined && v !== '',
    ),
  );
}

export function createDeviceService(overrides: Partial<DeviceServiceOptions> = {}): DeviceService {
  return new DeviceService({
    serialProtocols: DEFAULT_SERIAL_PROTOCOLS,
    createSerialTransport: (path, line) => new SerialTransport({ path, ...line }),
    hid: {
      // The reader style (from the USB vendor id) decides the report layout: IDTech readers number
      // their reports 0x01 with 63-byte bodies and send the id first in input reports; MagTek's
      // carry none. A plain HidTransport would speak MagTek's layout to every reader.
      createTransport: (path, info) => createHidReaderTransport(path, usbIdentity(info)),
      createDriver: (transport) => createHidCardReaderDriver(transport),
      family: 'hid_card_reader',
    },
    discover: discoverTestableDevices,
    ...overrides,
  });
}
