/**
 * A simulated ABECS PinPad: the device end of the ABECS link (spec 2.x section 2.2) answering
 * OPN, CLO, GIX, DSP, GKY, CEX (and ERR for anything else, 2.3.4) from a scenario file in
 * `fixtures/devices/abecs-<name>.json`: identity, key maps, DUKPT KSNs, what the "technician" does
 * (keys pressed, cards presented) and the think time per command. Faults on demand: bad CRC,
 * missing ACK, NAK storm, slow answers, garbage on the line, unplug mid-command, a dead keypad, a
 * failing card reader.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  ABECS,
  AbecsDecoder,
  encodeAbecsFrame,
  fromLatin1,
  latin1,
  type AbecsEvent,
} from '../framing/abecs.ts';
import {
  CEX_EVENT,
  PAR,
  ST,
  buildResponse,
  decodeParams,
  paramBlocks,
  parseCommand,
  readIdList,
  twoLines,
  type AbecsParam,
} from '../drivers/abecs-messages.ts';
import type { Transport } from '../transport/transport.ts';
import { SIMULATOR_FAULTS, type DeviceSimulator, type SimulatorFault } from './simulator.ts';

const slot = z.number().int().min(0).max(99);
const keyName = z.enum(['OK', 'F1', 'F2', 'F3', 'F4', 'CLEAR', 'CANCEL']);

export const abecsScenarioSchema = z
  .object({
    device: z.literal('abecs').default('abecs'),
    name: z.string().min(1),
    description: z.string().optional(),
    /** Time the PinPad "thinks" before answering each command, in ms. */
    thinkTimeMs: z.number().int().min(0).max(10_000).default(20),
    identity: z
      .object({
        serialNumber: z.string().max(32),
        partNumber: z.string().max(32).default(''),
        model: z.string().max(20),
        manufacturer: z.string().max(20),
        /** PP_CAPAB: first digit 1 = contactless present. */
        capabilities: z.string().regex(/^\d{10}$/),
        osVersion: z.string().max(20),
        specVersion: z.string().length(4).default('2.12'),
        managerVersion: z.string().max(16).default(''),
        appVersion: z.string().max(16),
        emvKernelVersion: z.string().max(20).default(''),
        displayText: z
          .string()
          .regex(/^\d{4}$/)
          .default('0216'),
      })
      .strict(),
    keyMaps: z
      .object({
        /** Slots beyond this report "2" (not supported). */
        supportedSlots: z.number().int().min(0).max(100).default(100),
        mkTdesPin: z.array(slot),
        mkTdesData: z.array(slot),
        dukptTdesPin: z.array(slot),
        dukptTdesData: z.array(slot),
      })
      .strict(),
    dukptKsns: z
      .object({
        pin: z.record(z.string().regex(/^\d{2}$/), z.string().regex(/^[0-9A-Fa-f]{20}$/)),
        data: z.record(z.string().regex(/^\d{2}$/), z.string().regex(/^[0-9A-Fa-f]{20}$/)),
      })
      .strict(),
    keypad: z
      .object({
        /** Keys the technician presses, one per GKY (cycled). */
        presses: z.array(keyName).min(1),
        /** Time the technician takes to press. */
        delayMs: z.number().int().min(0).max(60_000).default(50),
      })
      .strict(),
    card: z
      .object({
        eventDelayMs: z.number().int().min(0).max(60_000).default(50),
        swipe: z
          .object({
            track1: z.string().max(79),
            track2: z.string().max(40),
            track3: z.string().max(107).optional(),
          })
          .strict()
          .nullable(),
        chip: z.boolean(),
        tap: z.boolean(),
        /** NTM notifications sent while waiting for a card (spec 2.3.3). */
        notifications: z.array(z.string().max(32)).default([]),
      })
      .strict(),
    /** An older firmware without GIX (answers ERR to it) that still answers GIN. */
    legacy: z.boolean().default(false),
    faults: z.array(z.enum(SIMULATOR_FAULTS)).default([]),
  })
  .strict();
export type AbecsScenario = z.infer<typeof abecsScenarioSchema>;

const SCENARIO_DIR = fileURLToPath(new URL('../../../fixtures/devices/', import.meta.url));

/** Loads `fixtures/devices/abecs-<name>.json` (or "abecs-<name>", or a path to a .json file). */
export async function loadAbecsScenario(name = 'healthy'): Promise<AbecsScenario> {
  const path = name.endsWith('.json')
    ? name
    : `${SCENARIO_DIR}${name.startsWith('abecs-') ? name : `abecs-${name}`}.json`;
  const parsed = abecsScenarioSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new Error(`ABECS scenario ${path} is invalid: ${parsed.error.message}`);
  return parsed.data;
}

export interface AbecsSimulatorOptions {
  /** Extra delay the 'slow' fault adds before each answer (default past the 10 s response limit). */
  slowExtraMs?: number;
  /** Which command (1-based, counted from when the fault is switched on) 'unplug_mid_command' cuts. */
  unplugAtCommand?: number;
  /**
   * What "unplugging" does. The CLI harness kills its socat here so the host really loses the port;
   * without it the PinPad just goes silent halfway through an answer.
   */
  onUnplug?: () => void;
  random?: () => number;
}

const STATUS_BY_KEY: Record<z.infer<typeof keyName>, number> = {
  OK: ST.OK,
  F1: ST.F1,
  F2: ST.F2,
  F3: ST.F3,
  F4: ST.F4,
  CLEAR: ST.BACKSP,
  CANCEL: ST.CANCEL,
};
const EVENT_BY_KEY: Record<z.infer<typeof keyName>, string> = {
  OK: CEX_EVENT.KEY_OK,
  F1: CEX_EVENT.KEY_F1,
  F2: CEX_EVENT.KEY_F2,
  F3: CEX_EVENT.KEY_F3,
  F4: CEX_EVENT.KEY_F4,
  CLEAR: CEX_EVENT.KEY_CLEAR,
  CANCEL: CEX_EVENT.KEY_CANCEL,
};

/** Control and framing bytes the garbage fault never sends (so garbage stays line noise). */
const NOT_GARBAGE = new Set<number>([
  ABECS.SYN,
  ABECS.ETB,
  ABECS.DC3,
  ABECS.ACK,
  ABECS.NAK,
  ABECS.EOT,
  ABECS.CAN,
]);

export class AbecsPinpadSimulator implements DeviceSimulator {
  readonly scenario: AbecsScenario;
  readonly thinkTimeMs: number;
  /** Commands received with a good CRC, by id, in order (tests assert on them). */
  readonly received: string[] = [];
  /** What the display shows now (two 16-character lines). */
  display = twoLines('', '');
  /** Configured waits actually spent answering (think time + technician delays), for the bench. */
  readonly stats = { commands: 0, thinkMs: 0 };
  private transport: Transport | null = null;
  private decoder = new AbecsDecoder();
  private faults = new Set<SimulatorFault>();
  private timers = new Set<NodeJS.Timeout>();
  private lastResponse: { frame: Uint8Array; resends: number } | null = null;
  /** Bumped by CAN: answers of a cancelled command are dropped. */
  private generation = 0;
  private keyIndex = 0;
  private unplugged = false;
  private commandsSinceUnplugArmed = 0;
  private readonly options: Required<Omit<AbecsSimulatorOptions, 'onUnplug'>> &
    Pick<AbecsSimulatorOptions, 'onUnplug'>;

  private readonly onData = (chunk: Uint8Array): void => {
    for (const event of this.decoder.push(chunk)) this.handle(event);
  };

  constructor(scenario: AbecsScenario, options: AbecsSimulatorOptions = {}) {
    this.scenario = scenario;
    this.thinkTimeMs = scenario.thinkTimeMs;
    this.options = {
      slowExtraMs: options.slowExtraMs ?? 12_000,
      unplugAtCommand: options.unplugAtCommand ?? 2,
      random: options.random ?? Math.random,
      ...(options.onUnplug ? { onUnplug: options.onUnplug } : {}),
    };
    this.setFaults(scenario.faults);
  }

  attach(transport: Transport): void {
    this.detach();
    this.transport = transport;
    this.decoder = new AbecsDecoder();
    this.unplugged = false;
    transport.on('data', this.onData);
  }

  detach(): void {
    this.transport?.off('data', this.onData);
    this.transport = null;
    this.clearTimers();
    this.lastResponse = null;
  }

  setFaults(faults: readonly SimulatorFault[]): void {
    // The unplug fault counts commands from the moment it is switched on.
    if (faults.includes('unplug_mid_command') && !this.faults.has('unplug_mid_command'))
      this.commandsSinceUnplugArmed = 0;
    this.faults = new Set(faults);
  }

  get activeFaults(): SimulatorFault[] {
    return [...this.faults];
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private send(bytes: Uint8Array): void {
    if (this.unplugged || !this.transport?.isOpen) return;
    this.transport.write(bytes).catch(() => undefined);
  }

  private garbage(): Uint8Array {
    const n = 1 + Math.floor(this.options.random() * 12);
    const out: number[] = [];
    while (out.length < n) {
      const b = Math.floor(this.options.random() * 256);
      if (!NOT_GARBAGE.has(b)) out.push(b);
    }
    return Uint8Array.from(out);
  }

  private handle(event: AbecsEvent): void {
    if (this.unplugged) return;
    switch (event.type) {
      case 'control':
        if (event.byte === ABECS.CAN) {
          // 2.2.2.3: abort whatever runs and answer EOT, in any state.
          this.generation++;
          this.clearTimers();
          this.lastResponse = null;
          this.send(Uint8Array.of(ABECS.EOT));
        } else if (event.byte === ABECS.NAK && this.lastResponse && this.lastResponse.resends < 3) {
          // 2.2.2.2: the host could not read our answer: send it again.
          this.lastResponse.resends++;
          this.sendResponseFrame(this.lastResponse.frame);
        }
        return;
      case 'bad_frame':
        this.send(Uint8Array.of(ABECS.NAK));
        return;
      case 'noise':
        return;
      case 'frame':
        this.onCommand(event.data);
    }
  }

  private sendResponseFrame(frame: Uint8Array): void {
    let out = frame;
    if (this.faults.has('bad_checksum')) {
      out = Uint8Array.from(frame);
      out[out.length - 1] = (out[out.length - 1] as number) ^ 0x5a;
    }
    if (this.faults.has('garbage')) this.send(this.garbage());
    this.send(out);
  }

  private respond(generation: number, data: Uint8Array): void {
    if (generation !== this.generation) return;
    const frame = encodeAbecsFrame(data);
    this.lastResponse = { frame, resends: 0 };
    this.sendResponseFrame(frame);
  }

  private onCommand(data: Uint8Array): void {
    if (this.faults.has('missing_ack')) return;
    if (this.faults.has('nak_storm')) {
      this.send(Uint8Array.of(ABECS.NAK));
      return;
    }
    if (this.faults.has('garbage')) this.send(this.garbage());
    this.send(Uint8Array.of(ABECS.ACK));
    this.lastResponse = null;
    const command = parseCommand(data);
    this.received.push(command?.id ?? fromLatin1(data.subarray(0, 3)));
    this.stats.commands++;
    const generation = this.generation;

    this.commandsSinceUnplugArmed++;
    if (
      this.faults.has('unplug_mid_command') &&
      this.commandsSinceUnplugArmed === this.options.unplugAtCommand
    ) {
      // Half an answer, then nothing: the cable came out while the PinPad was talking.
      this.later(this.thinkTimeMs, () => {
        const frame = encodeAbecsFrame(buildResponse(command?.id ?? 'ERR', ST.OK, [latin1('0'.repeat(40))]));
        this.send(frame.subarray(0, Math.floor(frame.length / 2)));
        this.unplugged = true;
        this.clearTimers();
        this.options.onUnplug?.();
      });
      return;
    }

    const think = this.thinkTimeMs + (this.faults.has('slow') ? this.options.slowExtraMs : 0);
    this.stats.thinkMs += this.thinkTimeMs;
    this.later(think, () => this.execute(generation, command));
  }

  private execute(generation: number, command: ReturnType<typeof parseCommand>): void {
    if (!command) {
      this.respond(generation, buildResponse('ERR', ST.INVCALL));
      return;
    }
    const { id, blocks } = command;
    switch (id) {
      case 'OPN':
        this.respond(generation, buildResponse('OPN', ST.OK));
        return;
      case 'CLO': {
        const text = blocks[0] ? fromLatin1(blocks[0]) : '';
        this.display = twoLines(text.slice(0, 16), text.slice(16, 32));
        this.respond(generation, buildResponse('CLO', ST.OK));
        return;
      }
      case 'DSP': {
        const text = blocks[0] ? fromLatin1(blocks[0]) : '';
        if (text.length > 32) {
          this.respond(generation, buildResponse('DSP', ST.INVPARM));
          return;
        }
        this.display = twoLines(text.slice(0, 16), text.slice(16, 32));
        this.respond(generation, buildResponse('DSP', ST.OK));
        return;
      }
      case 'GIX':
        this.respond(generation, this.scenario.legacy ? buildResponse('ERR', ST.INVCALL) : this.gix(blocks));
        return;
      case 'GIN':
        this.respond(generation, this.gin(blocks));
        return;
      case 'GKY':
        this.gky(generation);
        return;
      case 'CEX':
        this.cex(generation, blocks);
        return;
      default:
        // 2.3.4: a command this PinPad does not know.
        this.respond(generation, buildResponse('ERR', ST.INVCALL));
    }
  }

  private keyMap(loaded: readonly number[]): string {
    const supported = this.scenario.keyMaps.supportedSlots;
    let map = '';
    for (let i = 0; i < 100; i++) map += i >= supported ? '2' : loaded.includes(i) ? '1' : '0';
    return map;
  }

  private gix(blocks: Uint8Array[]): Uint8Array {
    const params = decodeParams(blocks);
    const list = params?.get(PAR.SPE_IDLIST);
    if (!params || !list) return buildResponse('GIX', ST.INVPARM);
    const id = this.scenario.identity;
    const maps = this.scenario.keyMaps;
    const values = new Map<number, string | Uint8Array>([
      [PAR.PP_SERNUM, id.serialNumber],
      [PAR.PP_PARTNBR, id.partNumber],
      [PAR.PP_MODEL, id.model],
      [PAR.PP_MNNAME, id.manufacturer],
      [PAR.PP_CAPAB, id.capabilities],
      [PAR.PP_SOVER, id.osVersion],
      [PAR.PP_SPECVER, id.specVersion],
      [PAR.PP_MANVERS, id.managerVersion.padEnd(16, ' ')],
      [PAR.PP_APPVERS, id.appVersion.padEnd(16, ' ')],
      [PAR.PP_KRNLVER, id.emvKernelVersion],
      [PAR.PP_DSPTXTSZ, id.displayText],
      [PAR.PP_MKTDESP, this.keyMap(maps.mkTdesPin)],
      [PAR.PP_MKTDESD, this.keyMap(maps.mkTdesData)],
      [PAR.PP_DKPTTDESP, this.keyMap(maps.dukptTdesPin)],
      [PAR.PP_DKPTTDESD, this.keyMap(maps.dukptTdesData)],
    ]);
    for (const [slotText, ksn] of Object.entries(this.scenario.dukptKsns.pin))
      values.set(PAR.PP_KSNTDESP00 + Number(slotText), Buffer.from(ksn, 'hex'));
    for (const [slotText, ksn] of Object.entries(this.scenario.dukptKsns.data))
      values.set(PAR.PP_KSNTDESD00 + Number(slotText), Buffer.from(ksn, 'hex'));
    const out: AbecsParam[] = [];
    for (const wanted of readIdList(list)) {
      const v = values.get(wanted);
      // Ids this PinPad does not have are left out of the answer (spec GIX).
      if (v !== undefined)
        out.push({ id: wanted, value: typeof v === 'string' ? latin1(v) : Uint8Array.from(v) });
    }
    return buildResponse('GIX', ST.OK, paramBlocks(out));
  }

  /** GIN with acquirer index "00": fixed-width general information (100 bytes). */
  private gin(blocks: Uint8Array[]): Uint8Array {
    if (!blocks[0] || fromLatin1(blocks[0]) !== '00') return buildResponse('GIN', ST.INVPARM);
    const id = this.scenario.identity;
    const a = (text: string, n: number) => text.slice(0, n).padEnd(n, ' ');
    const body =
      a(id.manufacturer, 20) +
      a(id.model, 19) +
      (id.capabilities[0] === '1' ? '1' : '0') +
      a(id.osVersion, 20) +
      a(id.specVersion, 4) +
      a(id.managerVersion, 16) +
      a(id.serialNumber, 20);
    return buildResponse('GIN', ST.OK, [latin1(body)]);
  }

  private gky(generation: number): void {
    if (this.faults.has('keypad_failure')) return; // keys never register; only CAN ends it
    const presses = this.scenario.keypad.presses;
    const key = presses[this.keyIndex++ % presses.length] ?? 'OK';
    this.stats.thinkMs += this.scenario.keypad.delayMs;
    this.later(this.scenario.keypad.delayMs, () =>
      this.respond(generation, buildResponse('GKY', STATUS_BY_KEY[key])),
    );
  }

  private cex(generation: number, blocks: Uint8Array[]): void {
    const params = decodeParams(blocks);
    const opt = params?.get(PAR.SPE_CEXOPT);
    const timeout = params?.get(PAR.SPE_TIMEOUT);
    const options = opt ? fromLatin1(opt) : '';
    if (!/^[01][01][012][01]\d\d$/.test(options)) {
      this.respond(generation, buildResponse('CEX', ST.INVPARM));
      return;
    }
    const timeoutMs = (timeout && timeout.length > 0 ? (timeout[timeout.length - 1] as number) : 60) * 1000;
    const card = this.scenario.card;
    // Notifications are the PinPad asking for a card: only when a card event is awaited.
    const wantsCard = options[1] === '1' || options[2] !== '0' || options[3] === '1';
    for (const note of wantsCard ? card.notifications : []) {
      this.respond(generation, buildResponse('NTM', ST.OK, [latin1(note.slice(0, 32))]));
    }
    const event = (code: string, extra: AbecsParam[] = []) =>
      this.respond(
        generation,
        buildResponse('CEX', ST.OK, paramBlocks([{ id: PAR.PP_EVENT, value: latin1(code) }, ...extra])),
      );
    const timedOut = () =>
      this.later(timeoutMs, () => this.respond(generation, buildResponse('CEX', ST.TIMEOUT)));
    const readerFails = this.faults.has('card_reader_failure');
    const delay = card.eventDelayMs;
    // The technician's (configured) reaction time counts as think time for the bench.
    const after = (ms: number, fn: () => void) => {
      this.stats.thinkMs += ms;
      this.later(ms, fn);
    };

    if (options[0] === '1') {
      if (this.faults.has('keypad_failure')) return timedOut();
      const presses = this.scenario.keypad.presses;
      const key = presses[this.keyIndex++ % presses.length] ?? 'OK';
      return after(this.scenario.keypad.delayMs, () => event(EVENT_BY_KEY[key]));
    }
    if (options[1] === '1') {
      if (!card.swipe) return timedOut();
      if (readerFails)
        return after(delay, () => this.respond(generation, buildResponse('CEX', ST.MCDATAERR)));
      // Incomplete tracks (PP_TRKnINC, spec 5.4.1): the PinPad masks the PAN's middle digits.
      const mask = (t: string) =>
        t.replace(/\d{6}(\d+)(\d{4})/, (m, mid: string) => m.replace(mid, '*'.repeat(mid.length)));
      const swipe = card.swipe;
      const tracks: AbecsParam[] = [
        { id: PAR.PP_TRK1INC, value: latin1(mask(swipe.track1)) },
        { id: PAR.PP_TRK2INC, value: latin1(mask(swipe.track2)) },
        ...(swipe.track3 ? [{ id: PAR.PP_TRK3INC, value: latin1(mask(swipe.track3)) }] : []),
      ].filter((p) => p.value.length > 0);
      return after(delay, () => event(CEX_EVENT.MAG_SWIPED, tracks));
    }
    if (options[2] === '1') {
      if (!card.chip || readerFails) return timedOut();
      return after(delay, () => event(CEX_EVENT.ICC_INSERTED));
    }
    if (options[2] === '2') return after(delay, () => event(CEX_EVENT.ICC_REMOVED));
    if (options[3] === '1') {
      if (!card.tap) return after(delay, () => this.respond(generation, buildResponse('CEX', ST.INVCALL)));
      if (readerFails)
        return this.later(Math.min(timeoutMs, 120_000), () => event(CEX_EVENT.CTLS_NOT_DETECTED));
      return after(delay, () => event(CEX_EVENT.CTLS_DETECTED));
    }
    timedOut();
  }
}

/** Creates a simulator from a scenario name (`fixtures/devices/abecs-<name>.json`). */
export async function createAbecsSimulator(
  scenarioName = 'healthy',
  options: AbecsSimulatorOptions = {},
): Promise<AbecsPinpadSimulator> {
  return new AbecsPinpadSimulator(await loadAbecsScenario(scenarioName), options);
}
