/**
 * The device service wired to the real hardware stack: serial ports through `serialport`, the ABECS
 * and PP791-dialect drivers in auto-detect order, and OS discovery. Electron main, the local agent
 * and the `emdad-diag` CLI all start from here; tests build `DeviceService` with fakes instead.
 */
import { SerialPort } from 'serialport';
import { createPp791Driver } from '../drivers/pp791.ts';
import { STX_LINE_SETTINGS, STX_SOFT_PARITY_LINE_SETTINGS } from '../diagnostics/protocols.ts';
import { SerialTransport } from '../transport/serial-transport.ts';
import type { TransportInfo } from '../transport/transport.ts';
import { DeviceService, type DeviceServiceOptions, type SerialProtocolSupport } from './device-service.ts';

export const DEFAULT_SERIAL_PROTOCOLS: readonly SerialProtocolSupport[] = [
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

export function createDeviceService(overrides: Partial<DeviceServiceOptions> = {}): DeviceService {
  return new DeviceService({
    serialProtocols: DEFAULT_SERIAL_PROTOCOLS,
    createSerialTransport: (path, line) => new SerialTransport({ path, ...line }),
    discover: discoverSerialPorts,
    ...overrides,
  });
}
