/**
 * A simulated USB HID card reader at the transport level: it *is* a `Transport` (what the HID
 * transport would hand a driver after stripping report ids), so the HID card-reader driver runs
 * against it unchanged. No real HID device exists on a technician's bench-less laptop or in CI.
 *
 * - MagTek-style: answers GET_PROPERTY feature-report commands (software id, serial number) and
 *   sends one 337-byte input report per `swipe()`.
 * - IDTech-style: answers ViVOtech2 commands written to it (ping 18-01, firmware version 29-00,
 *   Activate Transaction 02-01 — answered when `swipe()` or `tap()` presents a card, or with
 *   "timeout" — and Cancel Transaction 05-01) with response frames split into zero-padded 63-byte
 *   report bodies, as the reader does over HID.
 *
 * It is not a `DeviceSimulator` (there is no far-end transport to attach to) but offers the same
 * `setFaults` / `thinkTimeMs`, with these meanings for a card reader:
 *   card_reader_failure  every track comes back with its decode-error bit set
 *   bad_checksum         track 1 fails to decode (card LRC error on that track); ViVOtech2 answers carry a wrong CRC
 *   garbage              a short junk report arrives before each real one
 *   slow                 every answer and swipe is delayed by `slowExtraMs`
 *   unplug_mid_command   the reader disappears at the next command or swipe
 *   missing_ack          commands get no answer at all
 *   nak_storm            ViVOtech2 commands are answered "CRC error in frame"; MagTek commands fail
 *   keypad_failure       no effect (a card reader has no keypad)
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TransportEmitter } from '../transport/memory-transport.ts';
import { TransportError, type Transport, type TransportInfo } from '../transport/transport.ts';
import type { FeatureReportCapable } from '../transport/hid-transport.ts';
import {
  MAGTEK_GET_PROPERTY,
  MAGTEK_PROPERTY_SERIAL_NUM,
  MAGTEK_PROPERTY_SOFTWARE_ID,
  encodeMagtekCommandResponse,
  encodeSwipeReport,
} from '../framing/magtek-swipe.ts';
import {
  VIVO_ACTIVATE_TRANSACTION,
  VIVO_CANCEL_TRANSACTION,
  VIVO_GET_FIRMWARE_VERSION,
  VIVO_PING,
  VivoDecoder,
  encodeVivoResponse,
} from '../framing/vivotech2.ts';
import { SIMULATOR_FAULTS, type SimulatorFault } from './simulator.ts';

const hexId = z.string().regex(/^[0-9a-f]{4}$/);

export const hidReaderScenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    variant: z.enum(['magtek', 'idtech']),
    vendorId: hexId,
    productId: hexId,
    manufacturer: z.string(),
    product: z.string(),
    serialNumber: z.string().max(15),
    /** MagTek SOFTWARE_ID property: 8-character part number + 3-character version. */
    softwareId: z.string().length(11).optional(),
    /** IDTech firmware version string (29-00). */
    firmwareVersion: z.string().optional(),
    /** The test card swiped by `swipe()` (synthetic, never a real card). */
    card: z.object({ track1: z.string(), track2: z.string(), track3: z.string() }),
    thinkTimeMs: z.number().int().min(0).max(10_000).default(10),
    /** For demos without a technician: swipe by itself this long after each open. */
    autoSwipeAfterMs: z.number().int().positive().nullable().default(null),
    faults: z.array(z.enum(SIMULATOR_FAULTS)).default([]),
  })
  .strict();
export type HidReaderScenario = z.infer<typeof hidReaderScenarioSchema>;

const SCENARIO_DIR = fileURLToPath(new URL('../../../fixtures/devices/', import.meta.url));

/** Loads `fixtures/devices/hid-<name>.json` (or "hid-<name>", or a path to a .json file). */
export async function loadHidReaderScenario(name = 'magtek-healthy'): Promise<HidReaderScenario> {
  const path = name.endsWith('.json')
    ? name
    : `${SCENARIO_DIR}${name.startsWith('hid-') ? name : `hid-${name}`}.json`;
  const parsed = hidReaderScenarioSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new Error(`HID reader scenario ${path} is invalid: ${parsed.error.message}`);
  return parsed.data;
}

export interface HidReaderSimulatorOptions {
  slowExtraMs?: number;
  random?: () => number;
}

/** Body bytes per HID report of the IDTech-style reader (64-byte report minus the id byte). */
const VIVO_REPORT_BODY = 63;

export class HidReaderSimulator extends TransportEmitter implements Transport, FeatureReportCapable {
  readonly info: TransportInfo;
  readonly scenario: HidReaderScenario;
  readonly thinkTimeMs: number;
  /** Commands received (feature-report command numbers or ViVOtech2 "cc-ss"), for assertions. */
  readonly received: string[] = [];
  private opened = false;
  private unplugged = false;
  private faults = new Set<SimulatorFault>();
  private pendingFeature: Uint8Array | null = null;
  private readonly slowExtraMs: number;
  private readonly random: () => number;
  private readonly vivo = new VivoDecoder('command');
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(scenario: HidReaderScenario, options: HidReaderSimulatorOptions = {}) {
    super();
    this.scenario = scenario;
    this.thinkTimeMs = scenario.thinkTimeMs;
    this.slowExtraMs = options.slowExtraMs ?? 5000;
    this.random = options.random ?? Math.random;
    this.faults = new Set(scenario.faults);
    this.info = {
      kind: 'hid',
      path: `sim:hid:${scenario.name}`,
      vendorId: scenario.vendorId,
      productId: scenario.productId,
      serialNumber: scenario.serialNumber,
      manufacturer: scenario.manufacturer,
      product: scenario.product,
    };
  }

  get isOpen(): boolean {
    return this.opened;
  }

  setFaults(faults: readonly SimulatorFault[]): void {
    this.faults = new Set(faults);
  }

  async open(): Promise<void> {
    if (this.unplugged)
      throw new TransportError(
        'not_found',
        `${this.info.path}: the card reader was not found. Plug it in and try again.`,
      );
    if (this.opened)
      throw new TransportError('port_busy', `${this.info.path} is already open in this session.`);
    this.opened = true;
    if (this.scenario.autoSwipeAfterMs !== null)
      this.later(this.scenario.autoSwipeAfterMs, () => this.swipe());
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    this.clearTimers();
    this.emit('close');
  }

  /** Pulls the reader out: error + close now, `open()` fails until `replug()`. */
  unplug(): void {
    this.unplugged = true;
    this.clearTimers();
    if (!this.opened) return;
    this.opened = false;
    const error = new TransportError(
      'unplugged',
      `${this.info.path}: the card reader was disconnected. Plug it in again and rerun the test.`,
    );
    this.emit('error', error);
    this.emit('close', error);
  }

  replug(): void {
    this.unplugged = false;
  }

  /** A card goes through the slot (the scenario's test card unless another is given). */
  swipe(card: Partial<HidReaderScenario['card']> = {}): void {
    if (!this.opened) return;
    if (this.faults.has('unplug_mid_command')) {
      this.unplug();
      return;
    }
    if (this.scenario.variant === 'idtech') {
      this.present('swipe', card);
      return;
    }
    const tracks = { ...this.scenario.card, ...card };
    const failing = this.faults.has('card_reader_failure');
    const report = encodeSwipeReport({
      tracks: [
        { data: tracks.track1, decodeError: failing || this.faults.has('bad_checksum') },
        { data: tracks.track2, decodeError: failing },
        { data: tracks.track3, decodeError: failing },
      ],
      encodeTypeCode: failing ? 5 : 0,
    });
    this.later(this.delay(), () => {
      if (this.faults.has('garbage')) this.emit('data', this.junk(17));
      this.emit('data', report);
    });
  }

  /** A contactless card is held on the reader (IDTech-style readers only). */
  tap(card: Partial<HidReaderScenario['card']> = {}): void {
    if (!this.opened || this.scenario.variant !== 'idtech') return;
    if (this.faults.has('unplug_mid_command')) {
      this.unplug();
      return;
    }
    this.present('contactless', card);
  }

  /** Answers a waiting Activate Transaction with the card (or the reader's failure). */
  private present(how: 'swipe' | 'contactless', card: Partial<HidReaderScenario['card']>): void {
    const pending = this.transaction;
    if (!pending) return;
    clearTimeout(pending);
    this.timers.delete(pending);
    this.transaction = null;
    const cmd = VIVO_ACTIVATE_TRANSACTION.command;
    if (this.faults.has('card_reader_failure')) {
      this.sendVivo(encodeVivoResponse(cmd, 0x0a)); // "Failed / NAK": the card could not be read
      return;
    }
    const tracks = { ...this.scenario.card, ...card };
    const enc = new TextEncoder();
    // Readers send track data without sentinels (guide §12 samples).
    const t1 = enc.encode(
      how === 'swipe' && !this.faults.has('bad_checksum')
        ? tracks.track1.replace(/^%/, '').replace(/\?$/, '')
        : '',
    );
    const t2 = enc.encode(tracks.track2.replace(/^;/, '').replace(/\?$/, ''));
    const data = Uint8Array.from([
      t1.length,
      ...t1,
      t2.length,
      ...t2,
      0x00, // no clearing record
      0x9f,
      0x39,
      0x01,
      how === 'swipe' ? 0x90 : 0x91, // POS entry mode
      0xff,
      0xee,
      0x01,
      0x04,
      0xdf,
      0x30,
      0x01,
      how === 'swipe' ? 0x0c : 0x00, // track data source
    ]);
    this.later(this.delay(), () => this.sendVivo(encodeVivoResponse(cmd, 0x00, data)));
  }

  private transaction: ReturnType<typeof setTimeout> | null = null;

  // --- MagTek-style feature-report commands ----------------------------------------------------

  async sendFeatureReport(_reportId: number, body: Uint8Array): Promise<void> {
    this.requireOpen();
    if (this.faults.has('unplug_mid_command')) {
      this.unplug();
      throw new TransportError('unplugged', `${this.info.path}: the card reader was disconnected.`);
    }
    const command = body[0] ?? 0xff;
    this.received.push(`cmd-${command.toString(16).padStart(2, '0')}`);
    if (this.faults.has('missing_ack')) {
      this.pendingFeature = null;
      return;
    }
    if (this.faults.has('nak_storm')) {
      this.pendingFeature = encodeMagtekCommandResponse(0x01); // generic failure
      return;
    }
    if (command === MAGTEK_GET_PROPERTY && (body[1] ?? 0) >= 1) {
      const property = body[2];
      const value =
        property === MAGTEK_PROPERTY_SOFTWARE_ID
          ? (this.scenario.softwareId ?? '')
          : property === MAGTEK_PROPERTY_SERIAL_NUM
            ? this.scenario.serialNumber
            : null;
      this.pendingFeature =
        value === null
          ? encodeMagtekCommandResponse(0x02)
          : encodeMagtekCommandResponse(0x00, new TextEncoder().encode(value));
      return;
    }
    this.pendingFeature = encodeMagtekCommandResponse(0x02); // bad parameter / unknown command
  }

  async getFeatureReport(_reportId: number, length: number): Promise<Uint8Array> {
    this.requireOpen();
    await new Promise((resolve) => setTimeout(resolve, this.delay()));
    this.requireOpen();
    const body = this.pendingFeature ?? new Uint8Array(length);
    this.pendingFeature = null;
    const out = new Uint8Array(length);
    out.set(body.subarray(0, length));
    return out;
  }

  // --- IDTech-style ViVOtech2 commands (bytes written to the transport) ---------------------

  async write(bytes: Uint8Array): Promise<void> {
    this.requireOpen();
    for (const event of this.vivo.push(bytes)) {
      if (event.type !== 'frame') continue;
      this.received.push(`${hex2(event.command)}-${hex2(event.code)}`);
      if (this.faults.has('unplug_mid_command')) {
        this.later(1, () => this.unplug());
        return;
      }
      if (this.faults.has('missing_ack')) continue;
      if (
        event.command === VIVO_ACTIVATE_TRANSACTION.command &&
        event.code === VIVO_ACTIVATE_TRANSACTION.subCommand &&
        !this.faults.has('nak_storm')
      ) {
        // Wait for a card for the requested number of seconds, then answer "timeout".
        const seconds = event.data[0] ?? 30;
        if (this.transaction) clearTimeout(this.transaction);
        this.transaction = this.later(seconds * 1000, () => {
          this.transaction = null;
          this.sendVivo(encodeVivoResponse(VIVO_ACTIVATE_TRANSACTION.command, 0x08));
        });
        if (this.scenario.autoSwipeAfterMs !== null)
          this.later(this.scenario.autoSwipeAfterMs, () => this.present('swipe', {}));
        continue;
      }
      if (
        event.command === VIVO_CANCEL_TRANSACTION.command &&
        event.code === VIVO_CANCEL_TRANSACTION.subCommand &&
        this.transaction
      ) {
        clearTimeout(this.transaction);
        this.timers.delete(this.transaction);
        this.transaction = null;
      }
      const answer = this.vivoAnswer(event.command, event.code);
      this.later(this.delay(), () => this.sendVivo(answer));
    }
  }

  /** One response frame as the reader sends it over HID: zero-padded 63-byte report bodies. */
  private sendVivo(frame: Uint8Array): void {
    if (this.faults.has('garbage')) this.emit('data', this.junk(VIVO_REPORT_BODY));
    for (let i = 0; i < frame.length; i += VIVO_REPORT_BODY) {
      const report = new Uint8Array(VIVO_REPORT_BODY);
      report.set(frame.subarray(i, i + VIVO_REPORT_BODY));
      this.emit('data', report);
    }
  }

  private vivoAnswer(command: number, sub: number): Uint8Array {
    let frame: Uint8Array;
    if (this.faults.has('nak_storm')) frame = encodeVivoResponse(command, 0x04);
    else if (command === VIVO_PING.command && sub === VIVO_PING.subCommand)
      frame = encodeVivoResponse(command, 0x00);
    else if (command === VIVO_GET_FIRMWARE_VERSION.command && sub === VIVO_GET_FIRMWARE_VERSION.subCommand)
      frame = encodeVivoResponse(
        command,
        0x00,
        new TextEncoder().encode(this.scenario.firmwareVersion ?? ''),
      );
    else if (command === VIVO_CANCEL_TRANSACTION.command && sub === VIVO_CANCEL_TRANSACTION.subCommand)
      frame = encodeVivoResponse(command, 0x00);
    else
      frame = encodeVivoResponse(
        command,
        command === VIVO_PING.command || command === VIVO_GET_FIRMWARE_VERSION.command ? 0x03 : 0x02,
      );
    if (this.faults.has('bad_checksum')) {
      frame = Uint8Array.from(frame);
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0xff;
    }
    return frame;
  }

  // ---------------------------------------------------------------------------------------------

  private delay(): number {
    return this.thinkTimeMs + (this.faults.has('slow') ? this.slowExtraMs : 0);
  }

  private junk(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => Math.floor(this.random() * 256));
  }

  private requireOpen(): void {
    if (!this.opened)
      throw new TransportError(
        this.unplugged ? 'unplugged' : 'closed',
        `${this.info.path}: the connection to the card reader is closed.`,
      );
  }

  private later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.opened) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.transaction = null;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
