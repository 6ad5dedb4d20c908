/**
 * ABECS PinPad driver (ABECS "Pinpad Abecs" specification 2.x): session open/close, identity
 * (GIX: serial, model, manufacturer, OS and application versions, key-slot maps, DUKPT KSNs),
 * display test (DSP), keypad test (GKY), card event test (CEX: key, swipe, chip insert, tap),
 * and cancel (CAN). Link behaviour (ACK/NAK, retries, CAN/EOT) is in `abecs-link.ts`; message
 * layout in `abecs-messages.ts`.
 *
 * Card data never leaves this driver: the card test records which event came and how long each
 * track was, not the track contents.
 */
import type { DeviceIdentity, DiagnosticErrorCode } from '@emdad/domain';
import type { Transport } from '../transport/transport.ts';
import { fromLatin1 } from '../framing/abecs.ts';
import { AbecsLink, type AbecsLinkTimings } from './abecs-link.ts';
import {
  CEX_EVENT,
  PAR,
  ST,
  buildCommand,
  decodeParams,
  idList,
  paramBlocks,
  parseResponse,
  textParam,
  twoLines,
  type AbecsResponseMessage,
} from './abecs-messages.ts';
import {
  DriverError,
  type DeviceDriver,
  type DriverCheckResult,
  type DriverContext,
  type DriverFactory,
} from './driver.ts';

export type AbecsKey = 'OK' | 'F1' | 'F2' | 'F3' | 'F4' | 'CLEAR' | 'CANCEL';
export type AbecsCardEvent = 'key' | 'swipe' | 'chip' | 'tap';

export interface AbecsDriverOptions {
  /** Link timings; the spec values by default. Tests shorten them. */
  timings?: Partial<AbecsLinkTimings>;
  /** Keys the keypad test asks for, in order. Every ABECS PinPad has these three. */
  keypadKeys?: readonly AbecsKey[];
  /** How long the technician has to press each key (GKY itself never times out). */
  keyTimeoutMs?: number;
  /** Card events the card test asks for, in order. */
  cardEvents?: readonly AbecsCardEvent[];
  /** Seconds the PinPad waits for each card event (CEX's SPE_TIMEOUT, 1…255). */
  eventTimeoutS?: number;
}

export const ABECS_DRIVER_DEFAULTS = {
  keypadKeys: ['OK', 'CLEAR', 'CANCEL'] as readonly AbecsKey[],
  keyTimeoutMs: 30_000,
  cardEvents: ['key', 'swipe', 'chip', 'tap'] as readonly AbecsCardEvent[],
  eventTimeoutS: 30,
};

/** GKY answers with the key in RSP_STAT (spec GKY command; return codes 3.1.1). */
const KEY_BY_STATUS: Record<number, AbecsKey> = {
  [ST.OK]: 'OK',
  [ST.F1]: 'F1',
  [ST.F2]: 'F2',
  [ST.F3]: 'F3',
  [ST.F4]: 'F4',
  [ST.BACKSP]: 'CLEAR',
  [ST.CANCEL]: 'CANCEL',
};

const KEY_FA: Record<AbecsKey, string> = {
  OK: 'تأیید (OK/ENTER)',
  F1: 'F1',
  F2: 'F2',
  F3: 'F3',
  F4: 'F4',
  CLEAR: 'پاک‌کردن (CLEAR)',
  CANCEL: 'لغو (CANCEL)',
};

/** Key maps reported by GIX: one character per slot 00…99 — "0" empty, "1" loaded, "2" unsupported. */
export interface AbecsKeyMaps {
  mkTdesPin: number[];
  mkTdesData: number[];
  dukptTdesPin: number[];
  dukptTdesData: number[];
}

const IDENTITY_IDS = [
  PAR.PP_SERNUM,
  PAR.PP_PARTNBR,
  PAR.PP_MODEL,
  PAR.PP_MNNAME,
  PAR.PP_CAPAB,
  PAR.PP_SOVER,
  PAR.PP_SPECVER,
  PAR.PP_MANVERS,
  PAR.PP_APPVERS,
  PAR.PP_KRNLVER,
  PAR.PP_DSPTXTSZ,
  PAR.PP_MKTDESP,
  PAR.PP_MKTDESD,
  PAR.PP_DKPTTDESP,
  PAR.PP_DKPTTDESD,
];

/** KSNs asked per GIX so that each answer stays well under the 2049-byte packet limit. */
const KSNS_PER_GIX = 60;

class StepTimeout extends Error {}

function loadedSlots(map: string | undefined): number[] {
  if (!map) return [];
  const slots: number[] = [];
  for (let i = 0; i < map.length && i < 100; i++) if (map[i] === '1') slots.push(i);
  return slots;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

export class AbecsPinpadDriver implements DeviceDriver {
  readonly family = 'abecs_pinpad' as const;
  readonly protocol = 'abecs' as const;
  readonly checks = ['display', 'keypad', 'card_events', 'key_slots'] as const;
  private readonly link: AbecsLink;
  private readonly options: typeof ABECS_DRIVER_DEFAULTS;
  private identity: DeviceIdentity | null = null;
  private keyMaps: AbecsKeyMaps | null = null;
  private ctlsSupported: boolean | null = null;
  private inFlight: AbortController | null = null;
  /**
   * Settles once everything started on the link so far is over, including the CAN/EOT exchange an
   * aborted command runs on its way out: `cancel()` waits on it so "cancelled" means "link idle".
   */
  private linkIdle: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly transport: Transport,
    options: AbecsDriverOptions = {},
  ) {
    this.link = new AbecsLink(transport, undefined, options.timings);
    this.options = {
      keypadKeys: options.keypadKeys ?? ABECS_DRIVER_DEFAULTS.keypadKeys,
      keyTimeoutMs: options.keyTimeoutMs ?? ABECS_DRIVER_DEFAULTS.keyTimeoutMs,
      cardEvents: options.cardEvents ?? ABECS_DRIVER_DEFAULTS.cardEvents,
      eventTimeoutS: Math.min(
        255,
        Math.max(1, Math.round(options.eventTimeoutS ?? ABECS_DRIVER_DEFAULTS.eventTimeoutS)),
      ),
    };
  }

  /** One command, answered by a response with the same id (or ERR); logs through `ctx`. */
  private async send(
    ctx: DriverContext,
    data: Uint8Array,
    options: { blocking?: boolean; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<AbecsResponseMessage> {
    // A step already cancelled or timed out sends nothing more to the PinPad.
    ctx.signal.throwIfAborted();
    options.signal?.throwIfAborted();
    this.link.setLogger((e) => ctx.log(e));
    const controller = new AbortController();
    this.inFlight = controller;
    const signals = [ctx.signal, controller.signal, ...(options.signal ? [options.signal] : [])];
    try {
      const raw = await this.onLink(
        this.link.command(data, {
          signal: AbortSignal.any(signals),
          ...(options.blocking ? { blocking: true } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          onNotification: (text) => ctx.prompt({ en: `PinPad: ${text}`, fa: `پین‌پد: ${text}` }),
        }),
      );
      const id = fromLatin1(data.subarray(0, 3));
      const response = parseResponse(raw);
      if (!response || (response.id !== id && response.id !== 'ERR')) {
        throw new DriverError(
          'DIAG-LINK-004',
          `The PinPad answered ${id} with something that is not an ABECS response. Check that this port has an ABECS PinPad on it.`,
          { frames: this.link.lastFrames() },
        );
      }
      return response;
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
  }

  /** Tracks a link operation in `linkIdle` and passes its outcome through. */
  private onLink<T>(operation: Promise<T>): Promise<T> {
    this.linkIdle = Promise.allSettled([this.linkIdle, operation]);
    return operation;
  }

  private statusError(code: DiagnosticErrorCode, response: AbecsResponseMessage, what: string): DriverError {
    return new DriverError(
      code,
      `The PinPad refused ${what} (${response.id} status ${String(response.status).padStart(3, '0')}). Restart the PinPad and try again; if it repeats, send the device for repair.`,
      { frames: this.link.lastFrames() },
    );
  }

  async probe(ctx: DriverContext, timeoutMs: number): Promise<boolean> {
    // A separate link with timings that fit the budget: CAN (harmless, and the spec's way to
    // start talking to a PinPad in an unknown state) then OPN, which any ABECS PinPad answers.
    const budget = Math.max(300, timeoutMs);
    const link = new AbecsLink(this.transport, (e) => ctx.log(e), {
      maxTries: 1,
      eotTimeoutMs: Math.floor(budget * 0.25),
      ackTimeoutMs: Math.floor(budget * 0.3),
      responseTimeoutMs: Math.floor(budget * 0.35),
      interByteTimeoutMs: Math.floor(budget * 0.35),
      silenceMs: 50,
      maxDiscardMs: 100,
    });
    let timer: NodeJS.Timeout | undefined;
    const attempt = (async () => {
      try {
        await link.cancel();
        const response = parseResponse(await link.command('OPN'));
        return response?.id === 'OPN';
      } catch {
        return false;
      }
    })();
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), budget);
    });
    const aborted = new Promise<boolean>((resolve) => {
      if (ctx.signal.aborted) resolve(false);
      ctx.signal.addEventListener('abort', () => resolve(false), { once: true });
    });
    try {
      return await Promise.race([attempt, deadline, aborted]);
    } finally {
      clearTimeout(timer);
      link.detach();
    }
  }

  async open(ctx: DriverContext): Promise<void> {
    this.link.setLogger((e) => ctx.log(e));
    this.link.attach();
    // Spec 2.2.2.3: always begin with CAN so a blocking command left running is aborted. One try:
    // an idle PinPad answers EOT at once, and a dead one is found by OPN's own ACK timeout.
    await this.onLink(this.link.cancel(1));
    const response = await this.send(ctx, buildCommand('OPN'));
    if (response.id === 'ERR' || response.status !== ST.OK)
      throw this.statusError('DIAG-HW-001', response, 'to open a session (OPN)');
  }

  /** GIX parameters, or null when the PinPad does not know GIX (an ABECS 1.x firmware: ERR). */
  private async gix(ctx: DriverContext, ids: readonly number[]): Promise<Map<number, Uint8Array> | null> {
    const response = await this.send(ctx, buildCommand('GIX', paramBlocks([idList(ids)])));
    if (response.id === 'ERR') return null;
    if (response.status !== ST.OK)
      throw this.statusError('DIAG-HW-001', response, 'the identity request (GIX)');
    const params = decodeParams(response.blocks);
    if (!params) {
      throw new DriverError(
        'DIAG-LINK-004',
        'The PinPad sent an identity answer (GIX) that could not be read. Update the PinPad firmware or report the device model to support.',
        {
          frames: this.link.lastFrames(),
        },
      );
    }
    return params;
  }

  /**
   * GIN (general information, acquirer index "00"): the fixed-width identity of PinPads older than
   * GIX — manufacturer A20, model A19, contactless A1, OS version A20, spec version A4, manager
   * version A16, serial A20. These report no key maps.
   */
  private async identifyWithGin(ctx: DriverContext): Promise<DeviceIdentity> {
    const response = await this.send(ctx, buildCommand('GIN', [Buffer.from('00', 'latin1')]));
    if (response.id === 'ERR' || response.status !== ST.OK)
      throw this.statusError('DIAG-HW-001', response, 'the identity request (GIN)');
    const body = response.blocks[0] ? fromLatin1(response.blocks[0]) : '';
    if (body.length < 100) {
      throw new DriverError(
        'DIAG-LINK-004',
        'The PinPad sent a short identity answer (GIN). Update the PinPad firmware or report the device model to support.',
        {
          frames: this.link.lastFrames(),
        },
      );
    }
    const field = (from: number, len: number) => body.slice(from, from + len).trim() || null;
    const [modelName, memory] = (field(20, 19) ?? '').split(';');
    this.ctlsSupported = body[39] === '1';
    this.keyMaps = null;
    this.identity = {
      family: 'abecs_pinpad',
      manufacturer: field(0, 20),
      model: modelName?.trim() || null,
      serialNumber: field(80, 20),
      firmwareVersion: field(40, 20),
      // GIN reports the manager application's version, not the ABECS application's.
      appVersion: null,
      extra: {
        protocol: 'abecs',
        identitySource: 'GIN',
        specVersion: field(60, 4),
        managerVersion: field(64, 16),
        memory: memory?.trim() || null,
        contactless: this.ctlsSupported,
        keySlots: null,
        dukptKsns: null,
      },
    };
    return this.identity;
  }

  async identify(ctx: DriverContext): Promise<DeviceIdentity> {
    const p = await this.gix(ctx, IDENTITY_IDS);
    if (p === null) return this.identifyWithGin(ctx);
    const text = (id: number): string | null => {
      const v = p.get(id);
      const s = v ? fromLatin1(v).trim() : '';
      return s.length > 0 ? s : null;
    };
    const maps: AbecsKeyMaps = {
      mkTdesPin: loadedSlots(text(PAR.PP_MKTDESP) ?? undefined),
      mkTdesData: loadedSlots(text(PAR.PP_MKTDESD) ?? undefined),
      dukptTdesPin: loadedSlots(text(PAR.PP_DKPTTDESP) ?? undefined),
      dukptTdesData: loadedSlots(text(PAR.PP_DKPTTDESD) ?? undefined),
    };
    this.keyMaps = maps;
    // KSNs only for DUKPT slots that hold a key: asking for all 200 would be most of a packet of nothing.
    const ksnIds = [
      ...maps.dukptTdesPin.map((slot) => PAR.PP_KSNTDESP00 + slot),
      ...maps.dukptTdesData.map((slot) => PAR.PP_KSNTDESD00 + slot),
    ];
    const ksnPin: Record<string, string> = {};
    const ksnData: Record<string, string> = {};
    for (let i = 0; i < ksnIds.length; i += KSNS_PER_GIX) {
      const got = await this.gix(ctx, ksnIds.slice(i, i + KSNS_PER_GIX));
      for (const [id, value] of got ?? []) {
        const slot = String(id & 0xff).padStart(2, '0');
        if (id >= PAR.PP_KSNTDESP00 && id < PAR.PP_KSNTDESP00 + 100) ksnPin[slot] = hexOf(value);
        else if (id >= PAR.PP_KSNTDESD00 && id < PAR.PP_KSNTDESD00 + 100) ksnData[slot] = hexOf(value);
      }
    }
    const modelField = text(PAR.PP_MODEL);
    const [modelName, memory] = modelField ? modelField.split(';') : [null, undefined];
    const capab = text(PAR.PP_CAPAB);
    this.ctlsSupported = capab ? capab[0] === '1' : null;
    const displaySize = text(PAR.PP_DSPTXTSZ);
    this.identity = {
      family: 'abecs_pinpad',
      manufacturer: text(PAR.PP_MNNAME),
      model: modelName?.trim() || null,
      serialNumber: text(PAR.PP_SERNUM),
      firmwareVersion: text(PAR.PP_SOVER),
      appVersion: text(PAR.PP_APPVERS),
      extra: {
        protocol: 'abecs',
        identitySource: 'GIX',
        specVersion: text(PAR.PP_SPECVER),
        partNumber: text(PAR.PP_PARTNBR),
        memory: memory?.trim() || null,
        managerVersion: text(PAR.PP_MANVERS),
        emvKernelVersion: text(PAR.PP_KRNLVER),
        contactless: this.ctlsSupported,
        displayText:
          displaySize && /^\d{4}$/.test(displaySize)
            ? { rows: Number(displaySize.slice(0, 2)), columns: Number(displaySize.slice(2)) }
            : null,
        keySlots: maps,
        dukptKsns: { pin: ksnPin, data: ksnData },
      },
    };
    return this.identity;
  }

  async runCheck(checkId: string, ctx: DriverContext): Promise<DriverCheckResult> {
    switch (checkId) {
      case 'display':
        return this.displayTest(ctx);
      case 'keypad':
        return this.keypadTest(ctx);
      case 'card_events':
        return this.cardEventTest(ctx);
      case 'key_slots':
        return this.keySlotCheck(ctx);
      default:
        return { status: 'not_supported', values: {}, errorCode: null, message: null };
    }
  }

  private async dsp(ctx: DriverContext, line1: string, line2: string): Promise<AbecsResponseMessage> {
    return this.send(ctx, buildCommand('DSP', [Buffer.from(twoLines(line1, line2), 'latin1')]));
  }

  private async displayTest(ctx: DriverContext): Promise<DriverCheckResult> {
    // DSP (spec 3.x): the PinPad confirms it drew the text; whether it is legible only the
    // technician can see, so they are asked to look at each pattern.
    const patterns: [string, string][] = [
      ['EMDAD DISPLAY', 'TEST 1/2'],
      ['0123456789ABCDEF', '################'],
    ];
    let shown = 0;
    for (const [l1, l2] of patterns) {
      ctx.prompt({
        en: `Check the PinPad screen shows: "${l1.trim()}" / "${l2.trim()}"`,
        fa: `بررسی کنید صفحهٔ پین‌پد این را نشان دهد: «${l1.trim()}» / «${l2.trim()}»`,
      });
      const r = await this.dsp(ctx, l1, l2);
      if (r.id === 'ERR' || r.status !== ST.OK) {
        return {
          status: 'fail',
          values: { patternsShown: shown, patterns: patterns.length, status: r.status },
          errorCode: 'DIAG-DSP-001',
          message: `The PinPad could not show test pattern ${shown + 1} (status ${r.status}). The display or its controller may be faulty.`,
        };
      }
      shown++;
    }
    await this.dsp(ctx, '', '');
    return {
      status: 'pass',
      values: { patternsShown: shown, patterns: patterns.length },
      errorCode: null,
      message: 'The PinPad accepted every test pattern; confirm by eye that both were readable.',
    };
  }

  /** Runs a blocking command, cancelling it (CAN) when `ms` pass; returns null on that timeout. */
  private async blockingWithin(
    ctx: DriverContext,
    data: Uint8Array,
    ms: number,
  ): Promise<AbecsResponseMessage | null> {
    const timer = new AbortController();
    const t = setTimeout(() => timer.abort(new StepTimeout()), ms);
    try {
      return await this.send(ctx, data, { blocking: true, timeoutMs: ms + 5000, signal: timer.signal });
    } catch (error) {
      if (error instanceof StepTimeout && !ctx.signal.aborted) return null;
      throw error;
    } finally {
      clearTimeout(t);
    }
  }

  private async keypadTest(ctx: DriverContext): Promise<DriverCheckResult> {
    const results: { expected: AbecsKey; got: AbecsKey | 'none' | 'error' }[] = [];
    for (const key of this.options.keypadKeys) {
      ctx.prompt({
        en: `Press the [${key}] key on the PinPad`,
        fa: `کلید ${KEY_FA[key]} را روی پین‌پد فشار دهید`,
      });
      await this.dsp(ctx, 'PRESS KEY', key);
      const r = await this.blockingWithin(ctx, buildCommand('GKY'), this.options.keyTimeoutMs);
      if (r === null || r.status === ST.TIMEOUT) results.push({ expected: key, got: 'none' });
      else if (r.id === 'ERR') results.push({ expected: key, got: 'error' });
      else results.push({ expected: key, got: KEY_BY_STATUS[r.status] ?? 'error' });
    }
    await this.dsp(ctx, '', '').catch(() => undefined);
    const failed = results.filter((r) => r.got !== r.expected);
    const values = { keysTested: results.length, keysOk: results.length - failed.length, results };
    if (failed.length === 0) return { status: 'pass', values, errorCode: null, message: null };
    const list = failed
      .map((f) =>
        f.got === 'none' ? `[${f.expected}] did not register` : `[${f.expected}] read as [${f.got}]`,
      )
      .join(', ');
    return {
      status: 'fail',
      values,
      errorCode: 'DIAG-KEY-001',
      message: `Keypad fault: ${list}. Clean or replace the keypad membrane, then test again.`,
    };
  }

  private async cex(ctx: DriverContext, options: string): Promise<AbecsResponseMessage | null> {
    const seconds = this.options.eventTimeoutS;
    const blocks = paramBlocks([
      textParam(PAR.SPE_CEXOPT, options),
      { id: PAR.SPE_TIMEOUT, value: Uint8Array.of(seconds) },
    ]);
    return this.blockingWithin(ctx, buildCommand('CEX', blocks), seconds * 1000 + 2000);
  }

  private async cardEventTest(ctx: DriverContext): Promise<DriverCheckResult> {
    type Outcome = {
      status: 'pass' | 'fail' | 'not_supported';
      event: string | null;
      detail?: Record<string, unknown>;
    };
    const outcomes: Partial<Record<AbecsCardEvent, Outcome>> = {};
    let errorCode: DiagnosticErrorCode | null = null;
    const problems: string[] = [];
    const fail = (
      kind: AbecsCardEvent,
      code: DiagnosticErrorCode,
      problem: string,
      event: string | null,
      detail?: Record<string, unknown>,
    ) => {
      outcomes[kind] = { status: 'fail', event, ...(detail ? { detail } : {}) };
      errorCode ??= code;
      problems.push(problem);
    };
    for (const kind of this.options.cardEvents) {
      if (kind === 'tap' && this.ctlsSupported === false) {
        outcomes.tap = { status: 'not_supported', event: null };
        continue;
      }
      const spec = {
        key: {
          opt: '100000',
          en: 'Press any key on the PinPad',
          fa: 'یک کلید دلخواه روی پین‌پد فشار دهید',
          line: 'PRESS ANY KEY',
        },
        swipe: {
          opt: '010000',
          en: 'Swipe a test card through the PinPad',
          fa: 'یک کارت آزمایشی را از کارت‌خوان مغناطیسی پین‌پد بکشید',
          line: 'SWIPE CARD',
        },
        chip: {
          opt: '001000',
          en: 'Insert a chip card into the PinPad',
          fa: 'یک کارت تراشه‌دار را در پین‌پد وارد کنید',
          line: 'INSERT CARD',
        },
        tap: {
          opt: '000100',
          en: 'Tap a contactless card on the PinPad',
          fa: 'یک کارت بی‌تماس را روی پین‌پد نگه دارید',
          line: 'TAP CARD',
        },
      }[kind];
      ctx.prompt({ en: spec.en, fa: spec.fa });
      await this.dsp(ctx, spec.line, 'EMDAD TEST');
      const r = await this.cex(ctx, spec.opt);
      const params = r && r.status === ST.OK ? decodeParams(r.blocks) : null;
      const event = params?.get(PAR.PP_EVENT);
      const code = event ? fromLatin1(event) : null;
      if (kind === 'key') {
        if (code !== null && Number(code) <= 13) outcomes.key = { status: 'pass', event: code };
        else fail('key', 'DIAG-KEY-001', 'no key press was detected', code);
      } else if (kind === 'swipe') {
        const lengths = {
          track1Length: params?.get(PAR.PP_TRK1INC)?.length ?? 0,
          track2Length: params?.get(PAR.PP_TRK2INC)?.length ?? 0,
          track3Length: params?.get(PAR.PP_TRK3INC)?.length ?? 0,
        };
        if (r?.status === ST.MCDATAERR)
          fail('swipe', 'DIAG-CARD-001', 'the magnetic stripe could not be read', code, lengths);
        else if (code !== CEX_EVENT.MAG_SWIPED)
          fail('swipe', 'DIAG-CARD-001', 'no swipe was detected', code, lengths);
        else if (lengths.track1Length === 0 && lengths.track2Length === 0)
          fail(
            'swipe',
            'DIAG-CARD-001',
            'the swipe was detected but no track could be decoded',
            code,
            lengths,
          );
        else outcomes.swipe = { status: 'pass', event: code, detail: lengths };
      } else if (kind === 'chip') {
        if (code === CEX_EVENT.ICC_INSERTED) {
          outcomes.chip = { status: 'pass', event: code };
          ctx.prompt({ en: 'Remove the chip card', fa: 'کارت تراشه‌دار را خارج کنید' });
        } else fail('chip', 'DIAG-CARD-002', 'no chip card insertion was detected', code);
      } else {
        if (code === CEX_EVENT.CTLS_DETECTED) outcomes.tap = { status: 'pass', event: code };
        else fail('tap', 'DIAG-CARD-002', 'no contactless card was detected', code);
      }
    }
    await this.dsp(ctx, '', '').catch(() => undefined);
    const values = { ...outcomes };
    if (errorCode === null) return { status: 'pass', values, errorCode: null, message: null };
    return {
      status: 'fail',
      values,
      errorCode,
      message: `Card reader test: ${problems.join('; ')}. Retry with a known-good card; if it fails again the reader needs repair.`,
    };
  }

  private async keySlotCheck(ctx: DriverContext): Promise<DriverCheckResult> {
    if (!this.identity) await this.identify(ctx);
    const maps = this.keyMaps;
    if (!maps) {
      return {
        status: 'not_supported',
        values: { identitySource: 'GIN' },
        errorCode: null,
        message:
          "Not supported by this device's protocol: this PinPad's firmware predates GIX and does not report its key slots.",
      };
    }
    const ksns = (this.identity?.extra.dukptKsns ?? { pin: {}, data: {} }) as {
      pin: Record<string, string>;
      data: Record<string, string>;
    };
    const values = {
      mkTdesPin: maps.mkTdesPin,
      mkTdesData: maps.mkTdesData,
      dukptTdesPin: maps.dukptTdesPin,
      dukptTdesData: maps.dukptTdesData,
      dukptPinKsns: Object.keys(ksns.pin).length,
    };
    const pinKeys = maps.mkTdesPin.length + maps.dukptTdesPin.length;
    const dataKeys = maps.mkTdesData.length + maps.dukptTdesData.length;
    if (pinKeys > 0) return { status: 'pass', values, errorCode: null, message: null };
    if (dataKeys > 0) {
      return {
        status: 'warn',
        values,
        errorCode: 'DIAG-SEC-001',
        message:
          'No PIN key is loaded (only data keys): the PinPad cannot take PINs. Send it for key injection.',
      };
    }
    return {
      status: 'fail',
      values,
      errorCode: 'DIAG-SEC-001',
      message:
        'No keys are loaded in any key slot: the PinPad cannot be used for payments. Send it for key injection.',
    };
  }

  /**
   * Aborts what runs on the PinPad and resolves once the link is idle again: the CAN/EOT exchange
   * of spec 2.2.2.3 is over (or has given up after its tries), so the next command cannot meet a
   * late EOT or find the link still busy.
   */
  async cancel(): Promise<void> {
    const current = this.inFlight;
    if (current) {
      // The command in flight sends CAN and waits for EOT itself (abecs-link cancel path); its
      // promise settles when that exchange is over.
      current.abort(new Error('cancelled by the technician'));
      await this.linkIdle;
      return;
    }
    // Nothing of ours in flight, but the PinPad may still run a blocking command (or our own
    // opening CAN is under way): wait for the link, then send CAN ourselves.
    await this.linkIdle;
    await this.onLink(this.link.cancel()).catch(() => false);
  }

  async close(ctx: DriverContext): Promise<void> {
    try {
      if (this.transport.isOpen) {
        const r = await this.send(
          ctx,
          buildCommand('CLO', [Buffer.from(twoLines('EMDAD FIELD', 'TEST COMPLETE'), 'latin1')]),
        );
        if (r.id === 'ERR' || r.status !== ST.OK)
          throw this.statusError('DIAG-HW-001', r, 'to close the session (CLO)');
      }
    } finally {
      this.link.detach();
    }
  }
}

export function createAbecsPinpadDriver(
  transport: Transport,
  options: AbecsDriverOptions = {},
): AbecsPinpadDriver {
  return new AbecsPinpadDriver(transport, options);
}

/** The factory the runner, auto-detect and the device service use (spec timings). */
export const abecsPinpadDriverFactory: DriverFactory = (transport) => new AbecsPinpadDriver(transport);
