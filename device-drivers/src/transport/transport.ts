/**
 * One interface for every link to a device, in the spirit of node-serialport's BindingInterface:
 * drivers see bytes in and bytes out, never the OS. Serial ports, USB HID devices, the in-memory
 * pair used by unit tests and the simulators all implement it.
 */
export type TransportKind = 'serial' | 'hid' | 'memory';

export interface SerialLineSettings {
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  flowControl: 'none' | 'rtscts' | 'xonxoff';
}

export const DEFAULT_SERIAL_SETTINGS: SerialLineSettings = {
  baudRate: 19200,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
  flowControl: 'none',
};

export interface TransportInfo {
  kind: TransportKind;
  /** Serial path (/dev/ttyUSB0, a pty), HID path, or a memory label. */
  path: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
}

/** Why a transport closed or failed, in words a technician's screen can map to a sentence. */
export type TransportErrorCode =
  'port_busy' | 'permission_denied' | 'not_found' | 'unplugged' | 'write_failed' | 'closed' | 'io_error';

export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TransportEvents {
  data: (chunk: Uint8Array) => void;
  /** Closed on purpose (`close()`) or lost (`error` first, then `close` with the error). */
  close: (error?: TransportError) => void;
  error: (error: TransportError) => void;
}

export interface Transport {
  readonly info: TransportInfo;
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once the bytes are handed to the OS (drained for serial). */
  write(bytes: Uint8Array): Promise<void>;
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this;
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this;
}
