/**
 * Which protocols auto-detect tries, in which order, at which line settings — and which driver
 * speaks each. Kept apart from `auto-detect.ts` so tests can run the search with scripted drivers.
 */
import type { DriverFactory } from '../drivers/driver.ts';
import { DEFAULT_SERIAL_SETTINGS, type SerialLineSettings } from '../transport/transport.ts';
import type { ProtocolCandidate } from './auto-detect.ts';

/** ABECS PinPads run the link at 19200 8N1 (ABECS spec, physical layer). */
export const ABECS_LINE_SETTINGS: readonly SerialLineSettings[] = [
  { ...DEFAULT_SERIAL_SETTINGS, baudRate: 19200 },
];

const line = (baudRate: number, dataBits: 7 | 8, parity: 'none' | 'even'): SerialLineSettings => ({
  ...DEFAULT_SERIAL_SETTINGS,
  baudRate,
  dataBits,
  parity,
});

/** STX/ETX/LRC terminals: 8N1 at the usual bauds first, then the 7E1 lines older units ship with. */
export const STX_LINE_SETTINGS: readonly SerialLineSettings[] = [
  line(19200, 8, 'none'),
  line(9600, 8, 'none'),
  line(115200, 8, 'none'),
  line(38400, 8, 'none'),
  line(9600, 7, 'even'),
  line(19200, 7, 'even'),
];

/**
 * A 7E1 terminal on a port that can only carry 8 data bits (some USB adapters, and ptys): the
 * line runs 8N1 and the driver computes the parity bit itself (stx-lrc.ts mode '7E1-soft').
 */
export const STX_SOFT_PARITY_LINE_SETTINGS: readonly SerialLineSettings[] = [
  line(9600, 8, 'none'),
  line(19200, 8, 'none'),
];

export interface SerialDriverFactories {
  abecs?: DriverFactory;
  stx?: DriverFactory;
}

/** Candidate list for a serial port, ABECS first (see auto-detect.ts for why the order matters). */
export function serialProtocolCandidates(factories: SerialDriverFactories): ProtocolCandidate[] {
  const list: ProtocolCandidate[] = [];
  if (factories.abecs)
    list.push({
      protocol: 'abecs',
      family: 'abecs_pinpad',
      createDriver: factories.abecs,
      lineSettings: ABECS_LINE_SETTINGS,
    });
  if (factories.stx)
    list.push({
      protocol: 'stx',
      family: 'pp791_terminal',
      createDriver: factories.stx,
      lineSettings: STX_LINE_SETTINGS,
    });
  return list;
}
