/**
 * Driver for USB HID card readers, two styles:
 *
 * - MagTek-style swipe readers (vendor 0x0801): handshake and identity with the GET_PROPERTY
 *   feature-report command (software id, serial number), and a swipe test that decodes the
 *   337-byte input report into a verdict per track (framing/magtek-swipe.ts).
 * - IDTech-style ViVOtech2 readers (vendor 0x0ACD): handshake with Ping (18-01), identity with
 *   Get Firmware Version (29-00), and swipe / contactless tests with Activate Transaction (02-01),
 *   which waits for a card and answers with the track data and the POS entry mode (tag 9F39) —
 *   framing/vivotech2.ts. Cancel sends Cancel Transaction (05-01).
 *
 * Track data is payment-card data: it is decoded in memory for the verdict and never logged or
 * returned; the step values carry lengths, verdicts and a masked PAN only, and the swipe report
 * is not copied to the frame log.
 */
import type { DeviceIdentity } from '@emdad/domain';
import {
  DriverError,
  toHex,
  type DeviceDriver,
  type DriverCheckResult,
  type DriverContext,
} from './driver.ts';
import {
  MAGTEK_COMMAND_DATA_LENGTH,
  MAGTEK_GET_PROPERTY,
  MAGTEK_PROPERTY_SERIAL_NUM,
  MAGTEK_PROPERTY_SOFTWARE_ID,
  MAGTEK_SWIPE_REPORT_LENGTH,
  decodeMagtekCommandResponse,
  decodeSwipeReport,
  encodeMagtekCommand,
  maskedPanFromTrack2,
  trackVerdict,
  type MagtekSwipe,
  type TrackVerdict,
} from '../framing/magtek-swipe.ts';
import {
  ENTRY_MODE,
  VIVO_ACTIVATE_TRANSACTION,
  VIVO_CANCEL_TRANSACTION,
  VIVO_GET_FIRMWARE_VERSION,
  VIVO_PING,
  VIVO_STATUS,
  VivoDecoder,
  encodeVivoCommand,
  parseActivateTransaction,
} from '../framing/vivotech2.ts';
import { HidTransport, hasFeatureReports, type HidTransportOptions } from '../transport/hid-transport.ts';
import type { Transport, TransportError, TransportInfo } from '../transport/transport.ts';

export type HidReaderVariant = 'magtek' | 'idtech';

export const MAGTEK_VENDOR_ID = 0x0801;
export const IDTECH_VENDOR_ID = 0x0acd;

export interface HidCardReaderOptions {
  variant?: HidReaderVariant;
  /** How long a command may take (feature report round trip, ViVOtech2 answer). */
  commandTimeoutMs?: number;
  /** How long the swipe test waits for a card; the runner's step timeout also bounds it. */
  swipeTimeoutMs?: number;
}

export function variantForVendor(vendorId: string | undefined): HidReaderVariant | null {
  if (vendorId === undefined) return null;
  const id = Number.parseInt(vendorId, 16);
  if (id === MAGTEK_VENDOR_ID) return 'magtek';
  if (id === IDTECH_VENDOR_ID) return 'idtech';
  return null;
}

const SWIPE_PROMPT = {
  en: 'Swipe a test card through the reader, in one smooth movement.',
  fa: 'یک کارت آزمایشی را با یک حرکت یکنواخت از کارت‌خوان بکشید.',
};
const TAP_PROMPT = {
  en: 'Hold a contactless test card flat on the reader until it beeps.',
  fa: 'یک کارت بدون‌تماس آزمایشی را صاف روی کارت‌خوان نگه دارید تا صدای بوق بشنوید.',
};

type TrackSummary = { track: 1 | 2 | 3; verdict: TrackVerdict; length: number; reason: string | null };

export class HidCardReaderDriver implements DeviceDriver {
  readonly family = 'hid_card_reader' as const;
  readonly protocol = 'hid' as const;
  readonly variant: HidReaderVariant;
  readonly checks: readonly string[];
  private readonly commandTimeoutMs: number;
  private readonly swipeTimeoutMs: number;
  private cancelController = new AbortController();

  constructor(
    private readonly transport: Transport,
    options: HidCardReaderOptions = {},
  ) {
    this.variant = options.variant ?? variantForVendor(transport.info.vendorId) ?? 'magtek';
    this.checks = this.variant === 'magtek' ? ['swipe'] : ['swipe', 'contactless'];
    this.commandTimeoutMs = options.commandTimeoutMs ?? 2000;
    this.swipeTimeoutMs = options.swipeTimeoutMs ?? 60_000;
  }

  async probe(ctx: DriverContext, timeoutMs: number): Promise<boolean> {
    try {
      if (!this.transport.isOpen) await this.transport.open();
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.max(1, timeoutMs))]);
      if (this.variant === 'magtek')
        return (await this.magtekProperty(MAGTEK_PROPERTY_SOFTWARE_ID, ctx, signal)) !== null;
      const answer = await this.vivoCommand(VIVO_PING.command, VIVO_PING.subCommand, ctx, signal);
      return answer.status === 0;
    } catch {
      return false;
    }
  }

  async open(ctx: DriverContext): Promise<void> {
    this.cancelController = new AbortController();
    if (!this.transport.isOpen) await this.transport.open();
    const signal = this.commandSignal(ctx);
    if (this.variant === 'magtek') {
      if ((await this.magtekProperty(MAGTEK_PROPERTY_SOFTWARE_ID, ctx, signal)) === null) {
        throw new DriverError(
          'DIAG-LINK-004',
          'The reader did not answer the MagTek property command: it may be a keyboard-emulation reader or another make.',
        );
      }
      return;
    }
    const ping = await this.vivoCommand(VIVO_PING.command, VIVO_PING.subCommand, ctx, signal);
    if (ping.status !== 0) {
      throw new DriverError(
        'DIAG-LINK-004',
        `The reader answered the ping with "${VIVO_STATUS[ping.status] ?? `status ${ping.status}`}".`,
      );
    }
  }

  async identify(ctx: DriverContext): Promise<DeviceIdentity> {
    const info = this.transport.info;
    const base = {
      family: this.family,
      manufacturer: info.manufacturer ?? null,
      model: info.product ?? null,
      appVersion: null,
    };
    if (this.variant === 'magtek') {
      const softwareId = await this.magtekProperty(MAGTEK_PROPERTY_SOFTWARE_ID, ctx, this.commandSignal(ctx));
      const serial = await this.magtekProperty(MAGTEK_PROPERTY_SERIAL_NUM, ctx, this.commandSignal(ctx));
      return {
        ...base,
        serialNumber: serial || info.serialNumber || null,
        // SOFTWARE_ID: 8-character part number followed by a 3-character version.
        firmwareVersion: softwareId && softwareId.length >= 11 ? softwareId.slice(8) : softwareId || null,
        extra: {
          variant: this.variant,
          vendorId: info.vendorId ?? null,
          productId: info.productId ?? null,
          ...(softwareId ? { softwarePartNumber: softwareId.slice(0, 8) } : {}),
        },
      };
    }
    const answer = await this.vivoCommand(
      VIVO_GET_FIRMWARE_VERSION.command,
      VIVO_GET_FIRMWARE_VERSION.subCommand,
      ctx,
      this.commandSignal(ctx),
    );
    const version =
      answer.status === 0 ? new TextDecoder('latin1').decode(answer.data).replace(/\0+$/, '') : null;
    return {
      ...base,
      serialNumber: info.serialNumber ?? null,
      firmwareVersion: version,
      extra: { variant: this.variant, vendorId: info.vendorId ?? null, productId: info.productId ?? null },
    };
  }

  async runCheck(checkId: string, ctx: DriverContext): Promise<DriverCheckResult> {
    if (checkId === 'swipe' && this.variant === 'magtek') return this.swipeTest(ctx);
    if ((checkId === 'swipe' || checkId === 'contactless') && this.variant === 'idtech')
      return this.transactionTest(checkId, ctx);
    return { status: 'not_supported', values: {}, errorCode: null, message: null };
  }

  async cancel(): Promise<void> {
    // Aborts what is in flight; later commands (the runner may go on after a timed-out step) start clean.
    this.cancelController.abort(new DriverError('DIAG-TIME-001', 'The test was cancelled.'));
    this.cancelController = new AbortController();
    if (this.transactionActive && this.transport.isOpen) {
      // Stop the reader waiting for a card; best effort, the answer is not needed.
      this.transactionActive = false;
      await this.transport
        .write(encodeVivoCommand(VIVO_CANCEL_TRANSACTION.command, VIVO_CANCEL_TRANSACTION.subCommand))
        .catch(() => undefined);
    }
  }

  // --- IDTech-style card tests (Activate Transaction) --------------------------------------------

  private transactionActive = false;

  private async transactionTest(
    kind: 'swipe' | 'contactless',
    ctx: DriverContext,
  ): Promise<DriverCheckResult> {
    const seconds = Math.max(1, Math.min(255, Math.ceil(this.swipeTimeoutMs / 1000)));
    const signal = AbortSignal.any([ctx.signal, this.cancelController.signal]);
    ctx.prompt(kind === 'swipe' ? SWIPE_PROMPT : TAP_PROMPT);
    this.transactionActive = true;
    let answer: { status: number; data: Uint8Array };
    try {
      answer = await this.vivoCommand(
        VIVO_ACTIVATE_TRANSACTION.command,
        VIVO_ACTIVATE_TRANSACTION.subCommand,
        ctx,
        signal,
        Uint8Array.of(seconds),
        seconds * 1000 + this.commandTimeoutMs,
        // The answer holds card data: log only its first bytes.
        true,
      );
    } finally {
      this.transactionActive = false;
    }
    const cardCode = kind === 'swipe' ? 'DIAG-CARD-001' : 'DIAG-CARD-002';
    if (answer.status === 0x08) {
      return {
        status: 'fail',
        values: { presented: false, waitedSeconds: seconds },
        errorCode: kind === 'swipe' ? 'DIAG-TIME-001' : 'DIAG-CARD-002',
        message:
          kind === 'swipe'
            ? `No card was swiped within ${seconds} s. Run the step again and swipe a card when asked.`
            : `No contactless card was read within ${seconds} s. Run the step again and hold the card flat on the reader; if it still fails, the contactless antenna may be faulty.`,
      };
    }
    if (answer.status !== 0) {
      return {
        status: 'fail',
        values: {
          presented: true,
          readerStatus: VIVO_STATUS[answer.status] ?? `0x${answer.status.toString(16)}`,
        },
        errorCode: cardCode,
        message: `The reader could not read the card (${VIVO_STATUS[answer.status] ?? `status ${answer.status}`}). Try a second, known-good card; if it fails too, replace the reader.`,
      };
    }
    const parsed = parseActivateTransaction(answer.data);
    if (parsed === null) {
      throw new DriverError(
        'DIAG-LINK-004',
        'The reader answered the transaction with data this app cannot read.',
      );
    }
    const readVia =
      parsed.entryMode === null ? null : (ENTRY_MODE[parsed.entryMode as keyof typeof ENTRY_MODE] ?? null);
    const entryMode = parsed.entryMode === null ? null : parsed.entryMode.toString(16).padStart(2, '0');
    if (kind === 'swipe') {
      const track = (n: 1 | 2 | 3, data: string, start: string) => {
        const framed = data === '' || data.startsWith(start) ? data : `${start}${data}?`;
        return { track: n, decodeError: false, length: framed.length, data: framed };
      };
      const result = swipeVerdict({
        tracks: [track(1, parsed.track1, '%'), track(2, parsed.track2, ';'), track(3, '', ';')],
        encodeType: 'unknown',
        encodeTypeCode: 0xff,
      });
      result.values = { ...result.values, readVia, entryMode };
      if (readVia !== null && readVia !== 'swipe' && result.status === 'pass') {
        return {
          ...result,
          status: 'warn',
          errorCode: null,
          message: `The card was read by ${readVia}, not by a swipe: run the step again and swipe the card.`,
        };
      }
      return result;
    }
    const values = {
      presented: true,
      readVia,
      entryMode,
      track2Present: parsed.track2.length > 0,
      maskedPan: maskedPanFromTrack2(parsed.track2.startsWith(';') ? parsed.track2 : `;${parsed.track2}?`),
    };
    if (readVia === 'contactless') return { status: 'pass', values, errorCode: null, message: null };
    return {
      status: 'warn',
      values,
      errorCode: null,
      message:
        readVia === null
          ? 'A card was read but the reader did not say how; run the step again with a contactless card.'
          : `The card was read by ${readVia}, not by a tap: run the step again and tap the card.`,
    };
  }

  async close(_ctx: DriverContext): Promise<void> {
    if (this.transport.isOpen) await this.transport.close();
  }

  // --- swipe test ------------------------------------------------------------------------------

  private async swipeTest(ctx: DriverContext): Promise<DriverCheckResult> {
    const signal = AbortSignal.any([ctx.signal, this.cancelController.signal]);
    let ignoredReports = 0;
    const swipe = await new Promise<MagtekSwipe | null>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.transport.off('data', onData);
        this.transport.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      const onData = (report: Uint8Array): void => {
        const decoded = decodeSwipeReport(report);
        if (!decoded.ok) {
          // Not a swipe report (noise, a report of another collection): note it, keep waiting.
          ignoredReports += 1;
          ctx.log({ direction: 'rx', hex: toHex(report), at: Date.now() });
          return;
        }
        // The swipe report itself holds card data: only its shape goes to the frame log.
        ctx.log({ direction: 'rx', hex: toHex(report.subarray(0, 7)), at: Date.now() });
        cleanup();
        resolve(decoded.swipe);
      };
      const onClose = (error?: TransportError): void => {
        cleanup();
        reject(
          new DriverError(
            'DIAG-LINK-003',
            error?.message ??
              'The card reader was disconnected during the swipe test. Plug it in again and rerun the test.',
            {
              cause: error,
            },
          ),
        );
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(null);
      }, this.swipeTimeoutMs);
      if (signal.aborted) {
        onAbort();
        return;
      }
      if (!this.transport.isOpen) {
        onClose();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.transport.on('data', onData);
      this.transport.on('close', onClose);
      ctx.prompt(SWIPE_PROMPT);
    });

    if (swipe === null) {
      return {
        status: 'fail',
        values: { swiped: false, waitedMs: this.swipeTimeoutMs, ignoredReports },
        errorCode: 'DIAG-TIME-001',
        message: `No card was swiped within ${Math.round(this.swipeTimeoutMs / 1000)} s. Run the step again and swipe a card when asked.`,
      };
    }
    return swipeVerdict(swipe, ignoredReports);
  }

  // --- MagTek feature-report commands -----------------------------------------------------------

  /** GET_PROPERTY; null when the reader does not answer or refuses. */
  private async magtekProperty(
    property: number,
    ctx: DriverContext,
    signal: AbortSignal,
  ): Promise<string | null> {
    const transport = this.transport;
    if (!hasFeatureReports(transport)) {
      throw new DriverError(
        'DIAG-LINK-004',
        'This connection cannot exchange HID feature reports, so the reader cannot be queried.',
      );
    }
    const command = encodeMagtekCommand(MAGTEK_GET_PROPERTY, Uint8Array.of(property));
    try {
      ctx.log({ direction: 'tx', hex: toHex(command), at: Date.now() });
      await withSignal(transport.sendFeatureReport(0, command), signal);
      const body = await withSignal(transport.getFeatureReport(0, 2 + MAGTEK_COMMAND_DATA_LENGTH), signal);
      ctx.log({ direction: 'rx', hex: toHex(body), at: Date.now() });
      const response = decodeMagtekCommandResponse(body);
      if (!response.ok || response.resultCode !== 0) return null;
      return new TextDecoder('latin1').decode(response.data);
    } catch (error) {
      throw hidError(error);
    }
  }

  // --- ViVOtech2 commands -------------------------------------------------------------------

  private async vivoCommand(
    command: number,
    subCommand: number,
    ctx: DriverContext,
    signal: AbortSignal,
    data: Uint8Array = new Uint8Array(),
    timeoutMs: number = this.commandTimeoutMs,
    sensitiveAnswer = false,
  ): Promise<{ status: number; data: Uint8Array }> {
    const decoder = new VivoDecoder('response');
    const frame = encodeVivoCommand(command, subCommand, data);
    let badCrc = 0;
    const answer = new Promise<{ status: number; data: Uint8Array }>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.transport.off('data', onData);
        this.transport.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      const onData = (chunk: Uint8Array): void => {
        for (const event of decoder.push(chunk)) {
          if (event.type === 'bad_crc') badCrc += 1;
          if (event.type !== 'frame') continue;
          ctx.log({
            direction: 'rx',
            hex: toHex(sensitiveAnswer ? event.raw.subarray(0, 14) : event.raw),
            at: Date.now(),
          });
          if (event.command !== command) continue;
          cleanup();
          resolve({ status: event.code, data: event.data });
          return;
        }
      };
      const onClose = (error?: TransportError): void => {
        cleanup();
        reject(
          new DriverError(
            'DIAG-LINK-003',
            error?.message ??
              'The card reader was disconnected during the command. Plug it in again and rerun the test.',
            { cause: error },
          ),
        );
      };
      const timedOut = (): DriverError =>
        badCrc > 0
          ? new DriverError(
              'DIAG-LINK-002',
              'The reader answered, but every answer failed its CRC. Try another USB port or cable.',
            )
          : new DriverError(
              'DIAG-LINK-001',
              'The reader did not answer. Unplug it, plug it in again and retry.',
            );
      const onAbort = (): void => {
        cleanup();
        const reason: unknown = signal.reason;
        reject(reason instanceof Error && reason.name === 'TimeoutError' ? timedOut() : reason);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(timedOut());
      }, timeoutMs);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.transport.on('data', onData);
      this.transport.on('close', onClose);
    });
    ctx.log({ direction: 'tx', hex: toHex(frame), at: Date.now() });
    try {
      await this.transport.write(frame);
    } catch (error) {
      answer.catch(() => undefined);
      throw hidError(error);
    }
    return answer;
  }

  private commandSignal(ctx: DriverContext): AbortSignal {
    return AbortSignal.any([
      ctx.signal,
      this.cancelController.signal,
      AbortSignal.timeout(this.commandTimeoutMs),
    ]);
  }
}

/** Per-track verdicts → one check result. Payment needs track 2; track 1 problems are a warning. */
export function swipeVerdict(swipe: MagtekSwipe, ignoredReports = 0): DriverCheckResult {
  const tracks: TrackSummary[] = swipe.tracks.map((t) => {
    const { verdict, reason } = trackVerdict(t);
    return { track: t.track, verdict, length: t.length, reason };
  });
  const [t1, t2] = tracks as [TrackSummary, TrackSummary, TrackSummary];
  const track2 = swipe.tracks[1];
  const values = {
    swiped: true,
    tracks,
    encodeType: swipe.encodeType,
    maskedPan: t2.verdict === 'ok' && track2 ? maskedPanFromTrack2(track2.data) : null,
    ignoredReports,
  };
  const unreadable = (t: TrackSummary): boolean => t.verdict === 'decode_error' || t.verdict === 'malformed';
  if (!tracks.some((t) => t.verdict === 'ok')) {
    return {
      status: 'fail',
      values,
      errorCode: 'DIAG-CARD-001',
      message:
        'No track of the card could be read. Try a second, known-good card; if it also fails, clean the read head or replace the reader.',
    };
  }
  if (t2.verdict !== 'ok') {
    return {
      status: 'fail',
      values,
      errorCode: 'DIAG-CARD-001',
      message: `Track 2 (the one payments use) ${t2.verdict === 'empty' ? 'was empty' : 'could not be read'}. Try a known-good card; if it repeats, clean the read head or replace the reader.`,
    };
  }
  if (unreadable(t1)) {
    return {
      status: 'warn',
      values,
      errorCode: 'DIAG-CARD-001',
      message:
        'Track 1 could not be read although track 2 was fine: the card or the read head may be worn. Try a second card.',
    };
  }
  return { status: 'pass', values, errorCode: null, message: null };
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function hidError(error: unknown): unknown {
  if (error instanceof DriverError) return error;
  if (error instanceof Error && error.name === 'TimeoutError') {
    return new DriverError(
      'DIAG-LINK-001',
      'The card reader did not answer in time. Unplug it, plug it in again and retry.',
      { cause: error },
    );
  }
  if (error instanceof Error && error.name === 'TransportError') {
    return new DriverError('DIAG-LINK-003', error.message, { cause: error });
  }
  return error;
}

/**
 * How each reader style uses HID reports. MagTek swipe readers use no report ids (card data in a
 * 337-byte input report, commands in feature reports). IDTech ViVOtech2 readers number their
 * reports 0x01 and carry frames in 64-byte reports (NEO 2 guide §2.8.2: id + 63 body bytes).
 */
export const HID_READER_REPORT_LAYOUT: Record<
  HidReaderVariant,
  Pick<HidTransportOptions, 'outputReportId' | 'outputReportSize' | 'inputReportId'>
> = {
  magtek: { outputReportId: 0x00, outputReportSize: 64, inputReportId: false },
  idtech: { outputReportId: 0x01, outputReportSize: 63, inputReportId: true },
};

/** A `HidTransport` set up for the reader style its USB vendor id says it is. */
export function createHidReaderTransport(
  path: string,
  info: Partial<Omit<TransportInfo, 'kind' | 'path'>> = {},
  options: Pick<HidTransportOptions, 'openDevice' | 'listDevices'> = {},
): HidTransport {
  const variant = variantForVendor(info.vendorId) ?? 'magtek';
  return new HidTransport({
    path,
    ...(info.vendorId ? { vendorId: Number.parseInt(info.vendorId, 16) } : {}),
    ...(info.productId ? { productId: Number.parseInt(info.productId, 16) } : {}),
    info,
    ...HID_READER_REPORT_LAYOUT[variant],
    ...options,
  });
}

export function createHidCardReaderDriver(
  transport: Transport,
  options: HidCardReaderOptions = {},
): HidCardReaderDriver {
  return new HidCardReaderDriver(transport, options);
}

/** Report length the swipe test expects (exported for the device list's "what is this" hints). */
export const HID_SWIPE_REPORT_LENGTH = MAGTEK_SWIPE_REPORT_LENGTH;
