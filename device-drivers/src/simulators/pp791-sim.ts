/**
 * A PP791-dialect PIN pad / terminal on the device end of a link (a socat pty, or the memory
 * pair). It answers the §5 administration messages the driver uses (06 serial number, 16 self-test,
 * 1C hardware capability, 04 master-key check) from a scenario file in `fixtures/devices/`, follows
 * the same link rules as a real unit (ACK a good frame, NAK a bad LRC, resend its answer on NAK or
 * after silence, close with EOT) and injects faults on demand.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ACK,
  EOT,
  FS,
  NAK,
  STX,
  ETX,
  SI,
  SO,
  StxDecoder,
  encodeStxControl,
  encodeStxFrame,
  type StxEvent,
  type StxLineMode,
} from '../framing/stx-lrc.ts';
import type { Transport } from '../transport/transport.ts';
import type { DeviceSimulator, SimulatorFault } from './simulator.ts';

export const pp791ScenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** Up to 12 alphanumerics (§5 message 05); empty = never loaded (answers 12 × '0'). */
    serialNumber: z.string().regex(/^[0-9A-Za-z]{0,12}$/),
    /** Peripherals reported by message 1C. */
    hardware: z.array(z.enum(['ICC', 'SAM', 'MSR'])),
    /** Self-test result codes (message 16): "0" healthy, else a concatenation of 1/2/5. */
    selfTestCodes: z.string().regex(/^[0-9]{1,3}$/),
    /** Master-key ids (0–9, A–G) that are loaded (message 04 answers 'F' for these). */
    loadedMasterKeys: z.array(z.string().regex(/^[0-9A-G]$/)),
    /** How the simulator frames bytes: 8N1, or 7E1 with the parity bit carried in bit 7. */
    line: z.enum(['8N1', '7E1-soft']).default('8N1'),
    /** Time the device "thinks" before answering each command, in ms. */
    thinkTimeMs: z.number().int().min(0).max(10_000).default(20),
    /** Faults active from the start (the CLI's --fault adds to these). */
    faults: z
      .array(
        z.enum([
          'bad_checksum',
          'missing_ack',
          'nak_storm',
          'slow',
          'garbage',
          'unplug_mid_command',
          'keypad_failure',
          'card_reader_failure',
        ]),
      )
      .default([]),
  })
  .strict();
export type Pp791Scenario = z.infer<typeof pp791ScenarioSchema>;

const SCENARIO_DIR = fileURLToPath(new URL('../../../fixtures/devices/', import.meta.url));

/**
 * Loads `fixtures/devices/pp791-<name>.json` (also accepts "pp791-<name>" or an absolute path to a
 * .json file) and validates it.
 */
export async function loadPp791Scenario(name = 'healthy'): Promise<Pp791Scenario> {
  const path = name.endsWith('.json')
    ? name
    : `${SCENARIO_DIR}${name.startsWith('pp791-') ? name : `pp791-${name}`}.json`;
  const text = await readFile(path, 'utf8');
  const parsed = pp791ScenarioSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`PP791 scenario ${path} is invalid: ${parsed.error.message}`);
  return parsed.data;
}

export interface Pp791SimulatorOptions {
  /** Silence after our answer before we resend it (manual: 5 s). */
  resendAfterMs?: number;
  /** Extra delay the 'slow' fault adds before answering. */
  slowExtraMs?: number;
  /** Random source for garbage bytes (tests pass a seeded one). */
  random?: () => number;
  /**
   * Called when 'unplug_mid_command' fires (right after the ACK): a process harness can really
   * pull the cable (stop socat). Without it the device just goes silent.
   */
  onUnplug?: () => void;
}

/** Bytes the 'garbage' fault may emit: never a framing or control byte (see `garbageBytes`). */
const NOT_GARBAGE = new Set([STX, ETX, SI, SO, ACK, NAK, EOT]);

export class Pp791Simulator implements DeviceSimulator {
  readonly thinkTimeMs: number;
  readonly scenario: Pp791Scenario;
  /** Messages received with a good LRC, in order (tests assert on them). */
  readonly received: string[] = [];
  private transport: Transport | null = null;
  private decoder: StxDecoder;
  private faults = new Set<SimulatorFault>();
  private readonly mode: StxLineMode;
  private readonly resendAfterMs: number;
  private readonly slowExtraMs: number;
  private readonly random: () => number;
  private readonly onUnplug: (() => void) | undefined;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  /** Answer waiting for the host's ACK, with how often it was sent. */
  private pending: { frame: Uint8Array; sends: number } | null = null;
  private busy = false;
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  private muted = false;

  private readonly onData = (chunk: Uint8Array): void => {
    for (const event of this.decoder.push(chunk)) this.handle(event);
  };

  constructor(scenario: Pp791Scenario, options: Pp791SimulatorOptions = {}) {
    this.scenario = scenario;
    this.thinkTimeMs = scenario.thinkTimeMs;
    this.mode = scenario.line;
    this.decoder = new StxDecoder({ mode: this.mode });
    this.resendAfterMs = options.resendAfterMs ?? 5000;
    this.slowExtraMs = options.slowExtraMs ?? 15_000;
    this.random = options.random ?? Math.random;
    this.onUnplug = options.onUnplug;
    this.setFaults(scenario.faults);
  }

  attach(transport: Transport): void {
    this.detach();
    this.transport = transport;
    this.decoder = new StxDecoder({ mode: this.mode });
    transport.on('data', this.onData);
  }

  detach(): void {
    this.transport?.off('data', this.onData);
    this.transport = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending = null;
    this.answerTimer = null;
    this.busy = false;
    this.muted = false;
  }

  setFaults(faults: readonly SimulatorFault[]): void {
    this.faults = new Set(faults);
    if (!this.faults.has('unplug_mid_command')) this.muted = false;
  }

  private has(fault: SimulatorFault): boolean {
    return this.faults.has(fault);
  }

  private handle(event: StxEvent): void {
    if (this.muted) return;
    switch (event.type) {
      case 'noise':
        return;
      case 'bad_frame':
        if (event.reason === 'lrc' || event.reason === 'parity')
          this.send(encodeStxControl('nak', this.mode));
        return;
      case 'control':
        return this.onControl(event.control);
      case 'frame':
        return this.onFrame(event.kind, new TextDecoder('latin1').decode(event.payload));
    }
  }

  private onControl(control: 'ack' | 'nak' | 'eot'): void {
    const pending = this.pending;
    if (control === 'eot') {
      // The host gave up on this exchange: drop the answer, even one still being worked out.
      this.clearPending();
      if (this.answerTimer !== null) {
        clearTimeout(this.answerTimer);
        this.timers.delete(this.answerTimer);
        this.answerTimer = null;
      }
      this.busy = false;
      return;
    }
    if (!pending) return;
    if (control === 'ack') {
      this.clearPending();
      this.send(encodeStxControl('eot', this.mode));
      return;
    }
    // NAK: resend, or give up with EOT after the third (manual §5 message flow).
    if (pending.sends >= 3) {
      this.clearPending();
      this.send(encodeStxControl('eot', this.mode));
      return;
    }
    this.sendAnswer(pending);
  }

  private onFrame(kind: 'data' | 'admin', message: string): void {
    if (this.has('missing_ack')) return;
    if (this.has('nak_storm')) {
      this.send(encodeStxControl('nak', this.mode));
      return;
    }
    if (this.busy) {
      // Our ACK was lost and the host resent the command: acknowledge again, answer once.
      this.send(encodeStxControl('ack', this.mode));
      return;
    }
    this.received.push(message);
    this.clearPending();
    this.send(encodeStxControl('ack', this.mode));
    if (this.has('unplug_mid_command')) {
      // Silence from here on, as if the cable was pulled after the ACK.
      this.muted = true;
      if (this.onUnplug) this.later(5, this.onUnplug);
      return;
    }
    const answer = kind === 'admin' ? this.answer(message) : null;
    this.busy = true;
    const delay = this.thinkTimeMs + (this.has('slow') ? this.slowExtraMs : 0);
    this.answerTimer = this.later(delay, () => {
      this.answerTimer = null;
      this.busy = false;
      if (answer === null) {
        this.send(encodeStxControl('eot', this.mode)); // unknown message: decline
        return;
      }
      const pending = {
        frame: encodeStxFrame('admin', new TextEncoder().encode(answer), this.mode),
        sends: 0,
      };
      this.pending = pending;
      this.sendAnswer(pending);
    });
  }

  private sendAnswer(pending: { frame: Uint8Array; sends: number }): void {
    pending.sends += 1;
    let frame = pending.frame;
    if (this.has('bad_checksum')) {
      frame = Uint8Array.from(frame);
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x5a;
    }
    if (this.has('garbage')) this.send(this.garbageBytes());
    this.send(frame);
    const sendsNow = pending.sends;
    this.later(this.resendAfterMs, () => {
      if (this.pending !== pending || pending.sends !== sendsNow) return;
      if (pending.sends >= 3) {
        this.clearPending();
        this.send(encodeStxControl('eot', this.mode));
        return;
      }
      this.sendAnswer(pending);
    });
  }

  /** The §5 answers, from the scenario. Null = a message this device does not know. */
  answer(message: string): string | null {
    const id = message.slice(0, 2);
    switch (id) {
      case '06':
        return `06${this.scenario.serialNumber === '' ? '000000000000' : this.scenario.serialNumber}`;
      case '16':
        return `16${this.scenario.selfTestCodes}`;
      case '1C': {
        const hardware = this.has('card_reader_failure')
          ? this.scenario.hardware.filter((h) => h !== 'MSR' && h !== 'ICC')
          : this.scenario.hardware;
        return hardware.length === 0
          ? '1C0'
          : `1C${hardware.map((h) => String.fromCharCode(FS) + h).join('')}`;
      }
      case '04': {
        const keyId = message.slice(2, 3);
        return `04${this.scenario.loadedMasterKeys.includes(keyId) ? 'F' : '0'}`;
      }
      default:
        return null;
    }
  }

  /**
   * Line noise for the 'garbage' fault. It never contains a framing or control byte: this
   * protocol has no sequence numbers, so a stray byte that *is* an ACK/EOT is indistinguishable
   * from a real one on any implementation; what the host must survive is junk around frames.
   */
  private garbageBytes(): Uint8Array {
    const n = 1 + Math.floor(this.random() * 8);
    const out: number[] = [];
    while (out.length < n) {
      const b = Math.floor(this.random() * 256);
      if (!NOT_GARBAGE.has(b & 0x7f) && !NOT_GARBAGE.has(b)) out.push(b);
    }
    return Uint8Array.from(out);
  }

  private clearPending(): void {
    this.pending = null;
  }

  private send(bytes: Uint8Array): void {
    const transport = this.transport;
    if (!transport?.isOpen) return;
    transport.write(bytes).catch(() => {
      // The host end went away; the next attach starts fresh.
    });
  }

  private later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.transport) fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }
}
