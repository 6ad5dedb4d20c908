/**
 * Driver for PIN pads and POS terminals that speak the PP791 dialect of the STX/ETX/LRC link
 * (UIC PP791; PIN Pad 791 Programmer's Manual UDN PM0103-U Rev. 06). Only the administration and
 * maintenance messages of §5 are used — they are harmless: nothing here loads keys, changes
 * settings or starts a transaction.
 *
 *   06  Get serial number          (§5, message 06)  answer: "06" + serial, 12 × '0' when never loaded
 *   16  Remote self-test           (§5, message 16)  answer: "16" + codes, '0' healthy,
 *                                                     '1' RAM, '2' ROM checksum, '5' master-key CRC
 *   1C  Query hardware capability  (§5, message 1C)  answer: "1C" + FS-separated list (ICC, SAM,
 *                                                     MSR) or "0" for a bare PIN pad
 *   04  Check master key           (§5, message 04)  answer: "04" + '0' not loaded / 'F' loaded
 *
 * The dialect has no display, keypad or card-event test over the link, and no command that
 * reports the configured speed: display/keypad/card checks are therefore not offered (the runner
 * reports them as "not supported by this device's protocol"), and the baud-rate check reports the
 * line settings at which the device was proven to answer — a measurement, not a claim.
 */
import type { DeviceIdentity } from '@emdad/domain';
import {
  DriverError,
  toHex,
  type DeviceDriver,
  type DriverCheckResult,
  type DriverContext,
  type FrameLogEntry,
} from './driver.ts';
import {
  FS,
  StxLink,
  StxLinkError,
  type StxExchange,
  type StxLineMode,
  type StxLinkOptions,
} from '../framing/stx-lrc.ts';
import type { SerialLineSettings, Transport } from '../transport/transport.ts';

export const PP791_CHECKS = ['self_test', 'hardware', 'master_key', 'baud_rate'] as const;
export type Pp791CheckId = (typeof PP791_CHECKS)[number];

/** Master-key ids the PIN-encryption application uses (§5 message 08: ten keys, 0–9). */
export const PP791_PIN_MASTER_KEY_IDS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

const SELF_TEST_FAULTS: Record<string, { en: string; fa: string }> = {
  '1': { en: 'RAM test failed', fa: 'آزمون حافظهٔ RAM ناموفق بود' },
  '2': { en: 'ROM checksum failed', fa: 'جمع کنترلی ROM نادرست است' },
  '5': { en: 'Master keys CRC error', fa: 'خطای CRC کلیدهای اصلی' },
};

export interface Pp791DriverOptions extends StxLinkOptions {
  /** Line settings of the transport, when the caller knows them (reported by the baud-rate check). */
  lineSettings?: SerialLineSettings;
  /** Master-key ids to check. Default 0–9. */
  masterKeyIds?: readonly string[];
}

const latin1 = new TextDecoder('latin1');
/** Quiet time after opening a port during which input is discarded. */
const OPEN_SETTLE_MS = 100;

function lineModeFor(settings: SerialLineSettings | undefined): StxLineMode {
  if (settings && settings.dataBits === 7) return '7E1';
  return '8N1';
}

/** Settings a `SerialTransport` exposes (duck-typed so any transport with `settings` works). */
function settingsOf(transport: Transport): SerialLineSettings | undefined {
  const candidate = (transport as { settings?: unknown }).settings;
  if (candidate && typeof candidate === 'object' && 'baudRate' in candidate)
    return candidate as SerialLineSettings;
  return undefined;
}

export class Pp791Driver implements DeviceDriver {
  readonly family = 'pp791_terminal' as const;
  readonly protocol = 'stx' as const;
  readonly checks: readonly string[] = PP791_CHECKS;
  private link: StxLink;
  private linkDisposed = false;
  private readonly linkOptions: StxLinkOptions;
  private readonly lineSettings: SerialLineSettings | undefined;
  private readonly masterKeyIds: readonly string[];
  private cancelController = new AbortController();

  constructor(
    private readonly transport: Transport,
    options: Pp791DriverOptions = {},
  ) {
    this.lineSettings = options.lineSettings ?? settingsOf(transport);
    this.masterKeyIds = options.masterKeyIds ?? PP791_PIN_MASTER_KEY_IDS;
    this.linkOptions = { ...options, mode: options.mode ?? lineModeFor(this.lineSettings) };
    this.link = new StxLink(transport, this.linkOptions);
  }

  /** A closed driver can be opened again (the device service reconnects with the same driver). */
  private ensureLink(): void {
    if (!this.linkDisposed) return;
    this.link = new StxLink(this.transport, this.linkOptions);
    this.linkDisposed = false;
  }

  async probe(ctx: DriverContext, timeoutMs: number): Promise<boolean> {
    // "Get serial number" is read-only. One try, bounded by the caller's budget; any well-formed
    // frame or control byte in this dialect counts as "someone speaks STX/LRC here".
    const started = Date.now();
    const controller = new AbortController();
    const onOuter = (): void => controller.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onOuter, { once: true });
    const timer = setTimeout(() => controller.abort(new Error('probe time is up')), Math.max(1, timeoutMs));
    try {
      this.ensureLink();
      if (!this.transport.isOpen) await this.transport.open();
      const budget = Math.max(1, timeoutMs - (Date.now() - started));
      const answer = await this.link.exchange('admin', ascii('06'), {
        signal: controller.signal,
        log: this.logger(ctx),
        ackTimeoutMs: budget,
        responseTimeoutMs: budget,
        maxTries: 1,
      });
      return answer.outcome === 'declined' || startsWith(answer.payload, '06');
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onOuter);
    }
  }

  async open(ctx: DriverContext): Promise<void> {
    this.cancelController = new AbortController();
    this.ensureLink();
    if (!this.transport.isOpen) {
      await this.transport.open();
      // Stale bytes from before we opened (a late answer to another session) are not ours.
      await this.link.discardInput(OPEN_SETTLE_MS);
    }
    // Handshake: the serial-number request proves the link works in both directions.
    await this.request('06', ctx);
  }

  async identify(ctx: DriverContext): Promise<DeviceIdentity> {
    const serialAnswer = await this.request('06', ctx);
    const serial = serialAnswer === null ? null : serialAnswer.slice(2);
    const loaded = serial !== null && serial.length > 0 && !/^0+$/.test(serial);
    const hardware = await this.request('1C', ctx);
    return {
      family: this.family,
      manufacturer: null,
      model: null,
      serialNumber: loaded ? serial : null,
      firmwareVersion: null,
      appVersion: null,
      extra: {
        protocol: 'stx-lrc/pp791',
        serialNumberLoaded: loaded,
        ...(hardware === null ? {} : { hardwarePresent: parseHardware(hardware) }),
        ...(this.lineSettings ? { line: describeLine(this.lineSettings) } : {}),
      },
    };
  }

  async runCheck(checkId: string, ctx: DriverContext): Promise<DriverCheckResult> {
    switch (checkId as Pp791CheckId) {
      case 'self_test':
        return this.selfTest(ctx);
      case 'hardware':
        return this.hardware(ctx);
      case 'master_key':
        return this.masterKeys(ctx);
      case 'baud_rate':
        return this.baudRate(ctx);
      default:
        return { status: 'not_supported', values: {}, errorCode: null, message: null };
    }
  }

  async cancel(): Promise<void> {
    // Aborts what is in flight; later commands (the runner may go on after a timed-out step) start clean.
    this.cancelController.abort(new DriverError('DIAG-TIME-001', 'The command was cancelled.'));
    this.cancelController = new AbortController();
  }

  async close(_ctx: DriverContext): Promise<void> {
    this.link.dispose();
    this.linkDisposed = true;
    if (this.transport.isOpen) await this.transport.close();
  }

  private async selfTest(ctx: DriverContext): Promise<DriverCheckResult> {
    const answer = await this.request('16', ctx);
    if (answer === null) return declined('self-test');
    const codes = [...answer.slice(2)];
    if (codes.length === 0) {
      throw new DriverError('DIAG-LINK-004', 'The device answered the self-test without a result code.');
    }
    const faults = codes.filter((c) => c !== '0');
    if (faults.length === 0)
      return { status: 'pass', values: { resultCodes: codes.join('') }, errorCode: null, message: null };
    const described = faults.map((c) => SELF_TEST_FAULTS[c]?.en ?? `unknown fault code '${c}'`);
    const onlyKeys = faults.every((c) => c === '5');
    return {
      status: 'fail',
      values: { resultCodes: codes.join(''), faults: described },
      errorCode: onlyKeys ? 'DIAG-SEC-002' : 'DIAG-HW-001',
      message: onlyKeys
        ? 'The device reports a master-key CRC error: the keys must be reloaded by the key-injection centre before the device can take PINs.'
        : `The device's self-test failed (${described.join(', ')}). Replace the device and send it for repair.`,
    };
  }

  private async hardware(ctx: DriverContext): Promise<DriverCheckResult> {
    const answer = await this.request('1C', ctx);
    if (answer === null) return declined('hardware query');
    const present = parseHardware(answer);
    return {
      status: 'pass',
      values: {
        present,
        smartCardReader: present.includes('ICC'),
        magneticStripeReader: present.includes('MSR'),
        samSlot: present.includes('SAM'),
      },
      errorCode: null,
      message: present.length === 0 ? 'PIN pad without peripherals (no card reader).' : null,
    };
  }

  private async masterKeys(ctx: DriverContext): Promise<DriverCheckResult> {
    const slots: Record<string, 'loaded' | 'empty' | 'unknown'> = {};
    for (const id of this.masterKeyIds) {
      const answer = await this.request(`04${id}`, ctx);
      const code = answer?.slice(2, 3);
      slots[id] = code === 'F' ? 'loaded' : code === '0' ? 'empty' : 'unknown';
    }
    const loaded = Object.entries(slots)
      .filter(([, s]) => s === 'loaded')
      .map(([id]) => id);
    if (loaded.length > 0) {
      return { status: 'pass', values: { slots, loaded }, errorCode: null, message: null };
    }
    if (Object.values(slots).every((s) => s === 'unknown')) return declined('master-key check');
    return {
      status: 'fail',
      values: { slots, loaded },
      errorCode: 'DIAG-SEC-002',
      message:
        'No master key is loaded: the device cannot encrypt PINs. Send it to the key-injection centre to load its keys.',
    };
  }

  private async baudRate(ctx: DriverContext): Promise<DriverCheckResult> {
    const started = performance.now();
    const answer = await this.request('06', ctx);
    const roundTripMs = Math.round(performance.now() - started);
    if (answer === null) return declined('line check');
    if (!this.lineSettings) {
      return {
        status: 'warn',
        values: { answered: true, roundTripMs },
        errorCode: null,
        message:
          'The device answers on this line, but the line speed is not known to the app (not a serial port).',
      };
    }
    return {
      status: 'pass',
      values: {
        baudRate: this.lineSettings.baudRate,
        line: describeLine(this.lineSettings),
        source: 'measured: the device answered at these settings',
        roundTripMs,
      },
      errorCode: null,
      message: null,
    };
  }

  /** One admin exchange; returns the answer payload as text, or null when the device declined. */
  private async request(message: string, ctx: DriverContext): Promise<string | null> {
    const frames: FrameLogEntry[] = [];
    const log = (direction: 'tx' | 'rx', bytes: Uint8Array): void => {
      const entry = { direction, hex: toHex(bytes), at: Date.now() };
      frames.push(entry);
      ctx.log(entry);
    };
    const signal = AbortSignal.any([ctx.signal, this.cancelController.signal]);
    let answer: StxExchange;
    try {
      answer = await this.link.exchange('admin', ascii(message), { signal, log });
    } catch (error) {
      throw toDriverError(error, frames);
    }
    if (answer.outcome === 'declined') return null;
    const text = latin1.decode(answer.payload);
    const id = message.slice(0, 2);
    if (!text.startsWith(id)) {
      throw new DriverError(
        'DIAG-LINK-004',
        `The device answered message ${id} with an unexpected message "${text.slice(0, 2)}": it may not be a PP791-dialect device.`,
        {
          frames,
        },
      );
    }
    return text;
  }

  private logger(ctx: DriverContext): (direction: 'tx' | 'rx', bytes: Uint8Array) => void {
    return (direction, bytes) => ctx.log({ direction, hex: toHex(bytes), at: Date.now() });
  }
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function startsWith(payload: Uint8Array, prefix: string): boolean {
  return latin1.decode(payload).startsWith(prefix);
}

/** "1C" + FS "ICC" FS "MSR" … → ['ICC', 'MSR']; "1C0" → [] (bare PIN pad). */
export function parseHardware(answer: string): string[] {
  return answer
    .slice(2)
    .split(String.fromCharCode(FS))
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && s !== '0');
}

function describeLine(settings: SerialLineSettings): string {
  const parity = settings.parity === 'none' ? 'N' : settings.parity === 'even' ? 'E' : 'O';
  return `${settings.baudRate} ${settings.dataBits}${parity}${settings.stopBits}`;
}

function declined(what: string): DriverCheckResult {
  return {
    status: 'warn',
    values: { declined: true },
    errorCode: null,
    message: `The device refused the ${what} (answered EOT). Its firmware may not offer it; check the model's manual.`,
  };
}

/** Link failures in the words of the domain's diagnostic codes. */
export function toDriverError(error: unknown, frames: FrameLogEntry[]): unknown {
  if (error instanceof DriverError) return error;
  if (!(error instanceof StxLinkError)) return error; // aborts keep their own reason
  switch (error.failure) {
    case 'no_ack':
      return new DriverError(
        'DIAG-LINK-001',
        'The device did not acknowledge the command. Check that it is powered on, the cable is the data cable, and the line speed matches the device.',
        { frames, cause: error },
      );
    case 'nak_limit':
    case 'bad_response':
      return new DriverError(
        'DIAG-LINK-002',
        'Frames kept failing their checksum (LRC). Check the cable and the line settings (8N1 or 7E1, speed), then try again.',
        { frames, cause: error },
      );
    case 'no_response':
      // ACKed, then silence while the port is still there: the device is present but not
      // answering (hung, busy, wrong firmware) — "no answer", as the ABECS driver reports it.
      // A port that goes away mid-command fails the exchange as 'transport' (DIAG-LINK-003).
      return new DriverError(
        'DIAG-LINK-001',
        'The device acknowledged the command but sent no answer in time. Switch the device off and on again, wait for its idle screen and run the test again; if it repeats, the device may be hung or faulty.',
        { frames, cause: error },
      );
    case 'transport':
      return new DriverError(
        'DIAG-LINK-003',
        'The connection to the device was lost during the command. Reconnect the cable and run the test again.',
        { frames, cause: error },
      );
  }
}

export function createPp791Driver(transport: Transport, options: Pp791DriverOptions = {}): Pp791Driver {
  return new Pp791Driver(transport, options);
}
