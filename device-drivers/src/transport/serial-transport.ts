/**
 * Serial ports (RS-232, USB CDC/ACM, USB-serial bridges, and the pseudo-terminals tests use) over
 * `serialport` 13. Maps OS failures to `TransportError` codes a technician's screen can explain:
 * busy, permission (with the Linux `dialout` hint), not found, and unplugged while open.
 * A port that was unplugged can be opened again with a new `open()` once it is back.
 */
import { access, realpath } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import { TransportEmitter } from './memory-transport.ts';
import {
  DEFAULT_SERIAL_SETTINGS,
  TransportError,
  type SerialLineSettings,
  type Transport,
  type TransportErrorCode,
  type TransportInfo,
} from './transport.ts';

/** Sentences for the technician, per error code (the device service shows these). */
export const TRANSPORT_ERROR_SENTENCES: Record<TransportErrorCode, { en: string; fa: string }> = {
  port_busy: {
    en: 'The port is in use by another program. Close the other program (or the other diagnostic session) and try again.',
    fa: 'پورت در اختیار برنامهٔ دیگری است. آن برنامه (یا جلسهٔ عیب‌یابی دیگر) را ببندید و دوباره تلاش کنید.',
  },
  permission_denied: {
    en: 'This user may not open the port. On Linux add yourself to the "dialout" group (sudo usermod -aG dialout $USER), sign out and in again, then retry.',
    fa: 'این کاربر اجازهٔ باز کردن پورت را ندارد. در لینوکس خود را به گروه dialout اضافه کنید (sudo usermod -aG dialout $USER)، یک بار خارج و دوباره وارد شوید و دوباره تلاش کنید.',
  },
  not_found: {
    en: 'The port was not found. Check the cable and that the device is powered on, then refresh the device list.',
    fa: 'پورت پیدا نشد. کابل و روشن بودن دستگاه را بررسی کنید و فهرست دستگاه‌ها را تازه کنید.',
  },
  unplugged: {
    en: 'The device was disconnected during the operation. Reconnect the cable, wait a few seconds and run the test again.',
    fa: 'اتصال دستگاه در میانهٔ کار قطع شد. کابل را دوباره وصل کنید، چند ثانیه صبر کنید و آزمون را دوباره اجرا کنید.',
  },
  write_failed: {
    en: 'Data could not be sent to the device. Check the cable and try again.',
    fa: 'ارسال داده به دستگاه ممکن نشد. کابل را بررسی و دوباره تلاش کنید.',
  },
  closed: {
    en: 'The connection to the device is closed. Connect again.',
    fa: 'اتصال به دستگاه بسته است. دوباره متصل شوید.',
  },
  io_error: {
    en: 'The port reported an input/output error. Reconnect the device and try again; if it repeats, try another cable or port.',
    fa: 'پورت خطای ورودی/خروجی گزارش کرد. دستگاه را دوباره وصل و تلاش کنید؛ اگر تکرار شد کابل یا پورت دیگری را امتحان کنید.',
  },
};

/** Maps an error from the OS / serialport to a transport error code. */
export function classifySerialError(
  error: unknown,
  phase: 'open' | 'io',
  platform: NodeJS.Platform = process.platform,
): TransportErrorCode {
  const e = error as { code?: unknown; message?: unknown; disconnected?: unknown } | null;
  const text = `${typeof e?.code === 'string' ? e.code : ''} ${typeof e?.message === 'string' ? e.message : String(error)}`;
  if (e?.disconnected === true) return 'unplugged';
  // Windows reports a COM port held by another program as "Access denied".
  if (platform === 'win32' && /Access denied|Access is denied/i.test(text)) return 'port_busy';
  if (/EBUSY|EAGAIN|Resource busy|temporarily unavailable|Cannot lock port|locked/i.test(text))
    return 'port_busy';
  if (/EACCES|EPERM|Permission denied|Access denied/i.test(text)) return 'permission_denied';
  if (/ENOENT|ENODEV|ENXIO|No such file|No such device|File not found/i.test(text))
    return phase === 'open' ? 'not_found' : 'unplugged';
  if (/EIO|Input\/output error|EBADF|Bad file descriptor/i.test(text))
    return phase === 'open' ? 'io_error' : 'unplugged';
  return phase === 'open' ? 'io_error' : 'write_failed';
}

function transportError(code: TransportErrorCode, path: string, cause: unknown): TransportError {
  const detail = cause instanceof Error ? ` (${cause.message})` : '';
  return new TransportError(code, `${path}: ${TRANSPORT_ERROR_SENTENCES[code].en}${detail}`, cause);
}

/**
 * Time `byteCount` bytes take on the wire at these line settings: each byte is a start bit, the
 * data bits, an optional parity bit and the stop bits (what the drivers bench adds up).
 */
export function serialWireTimeMs(
  byteCount: number,
  settings: Pick<SerialLineSettings, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>,
): number {
  const bitsPerByte = 1 + settings.dataBits + (settings.parity === 'none' ? 0 : 1) + settings.stopBits;
  return (byteCount * bitsPerByte * 1000) / settings.baudRate;
}

/** How often an open port checks that its device node still exists. */
export const SERIAL_WATCHDOG_MS = 250;

export interface SerialTransportOptions extends Partial<SerialLineSettings> {
  path: string;
  /** USB identity when discovery knew it (shown in the device list, recorded on the result). */
  info?: Partial<Omit<TransportInfo, 'kind' | 'path'>>;
}

export class SerialTransport extends TransportEmitter implements Transport {
  readonly info: TransportInfo;
  readonly settings: SerialLineSettings;
  private port: SerialPort | null = null;
  private closingOnPurpose = false;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(options: SerialTransportOptions) {
    super();
    const { path, info, ...line } = options;
    this.settings = { ...DEFAULT_SERIAL_SETTINGS, ...line };
    this.info = { ...info, kind: 'serial', path };
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.port?.isOpen)
      throw new TransportError('port_busy', `${this.info.path} is already open in this session.`);
    const { baudRate, dataBits, parity, stopBits, flowControl } = this.settings;
    const port = new SerialPort({
      path: this.info.path,
      baudRate,
      dataBits,
      parity,
      stopBits,
      rtscts: flowControl === 'rtscts',
      xon: flowControl === 'xonxoff',
      xoff: flowControl === 'xonxoff',
      // Exclusive access (TIOCEXCL): a second program opening the port gets "busy", not a share of our bytes.
      lock: true,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) =>
        err ? reject(transportError(classifySerialError(err, 'open'), this.info.path, err)) : resolve(),
      );
    });
    this.port = port;
    this.closingOnPurpose = false;
    this.startWatchdog(port);
    port.on('data', (chunk: Buffer) =>
      this.emit('data', new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
    );
    port.on('error', (err: Error) =>
      this.emit('error', transportError(classifySerialError(err, 'io'), this.info.path, err)),
    );
    // A read returning 0 bytes (EOF) also means the far end went away.
    port.on('end', () => {
      if (port.isOpen && !this.closingOnPurpose) port.close(() => undefined);
    });
    port.on('close', (err: (Error & { disconnected?: boolean }) | null) => {
      if (this.port === port) this.port = null;
      this.stopWatchdog();
      if (this.closingOnPurpose) {
        this.emit('close');
        return;
      }
      const lost = transportError('unplugged', this.info.path, err ?? new Error('port closed by the system'));
      this.emit('error', lost);
      this.emit('close', lost);
    });
  }

  /**
   * Why: when a USB-serial adapter is pulled or a pty's far end exits, the kernel removes the
   * device node, but the serialport binding may only see end-of-file reads (which it retries
   * forever) and never report a disconnect. Watching the node is what makes "unplugged" reliable.
   */
  private startWatchdog(port: SerialPort): void {
    let checking = false;
    const watched = realpath(this.info.path).catch(() => this.info.path);
    this.watchdog = setInterval(() => {
      if (checking) return;
      checking = true;
      void watched
        .then((real) => access(real))
        .then(
          () => undefined,
          () => {
            if (port.isOpen && !this.closingOnPurpose) port.close(() => undefined);
          },
        )
        .finally(() => {
          checking = false;
        });
    }, SERIAL_WATCHDOG_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return;
    this.closingOnPurpose = true;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  async write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen)
      throw new TransportError('closed', `${this.info.path}: ${TRANSPORT_ERROR_SENTENCES.closed.en}`);
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) return reject(transportError(classifySerialError(err, 'io'), this.info.path, err));
        port.drain((drainErr) =>
          drainErr
            ? reject(transportError(classifySerialError(drainErr, 'io'), this.info.path, drainErr))
            : resolve(),
        );
      });
    });
  }
}
