/**
 * The named diagnostic suite of each device family: which steps run, in which order, how long each
 * may take and whether a failure stops the run. Drivers only know how to run one check; the suite
 * decides what a technician's "run diagnostics" means for that family.
 *
 * A suite lists every check a technician expects of that kind of device, even ones the family's
 * protocol may not offer: the runner then reports them as `not_supported` instead of hiding them,
 * so the report says plainly what was not (and could not be) tested.
 */
import type { DeviceFamily } from '@emdad/domain';

export type StepKind = 'open' | 'identify' | 'check' | 'close';

export interface SuiteStep {
  /** Stable id, also the step id in `DiagnosticStepResult` (UI and knowledge articles key on it). */
  id: string;
  kind: StepKind;
  /** For `check` steps: the driver check id (`DeviceDriver.checks`). */
  checkId?: string;
  title: { en: string; fa: string };
  /** Bound on the whole step, including technician interaction for interactive checks. */
  timeoutMs: number;
  /** Whether a failure (or timeout) of this step ends the run: later steps are then `skipped`. */
  stopOnFailure: boolean;
  /** Needs the technician (press keys, swipe a card): the UI should draw attention to prompts. */
  interactive?: boolean;
}

export interface DiagnosticSuite {
  name: string;
  family: DeviceFamily;
  title: { en: string; fa: string };
  steps: readonly SuiteStep[];
}

/*
 * Step bounds sit above the drivers' own protocol timeouts (e.g. ABECS: ACK within 2 s, 3 tries,
 * then up to 10 s for the answer), so a silent device is reported by the driver with the precise
 * code (no ACK, checksum errors) and the runner's timer only catches what hangs beyond that.
 * Interactive steps include the technician's time: the ABECS keypad test allows 30 s per key.
 */
const HANDSHAKE_MS = 20_000;
const COMMAND_MS = 30_000;
const INTERACTIVE_MS = 120_000;
const CARD_EVENTS_MS = 180_000;

const openStep: SuiteStep = {
  id: 'open',
  kind: 'open',
  title: { en: 'Connect and handshake', fa: 'اتصال و دست‌دهی' },
  timeoutMs: HANDSHAKE_MS,
  stopOnFailure: true,
};
const identifyStep: SuiteStep = {
  id: 'identify',
  kind: 'identify',
  title: { en: 'Read device identity', fa: 'خواندن مشخصات دستگاه' },
  timeoutMs: COMMAND_MS,
  stopOnFailure: false,
};
const closeStep: SuiteStep = {
  id: 'close',
  kind: 'close',
  title: { en: 'Close the session', fa: 'بستن نشست' },
  timeoutMs: HANDSHAKE_MS,
  stopOnFailure: false,
};

function check(
  checkId: string,
  en: string,
  fa: string,
  options: { interactive?: boolean; timeoutMs?: number; stopOnFailure?: boolean } = {},
): SuiteStep {
  return {
    id: checkId,
    kind: 'check',
    checkId,
    title: { en, fa },
    timeoutMs: options.timeoutMs ?? (options.interactive ? INTERACTIVE_MS : COMMAND_MS),
    stopOnFailure: options.stopOnFailure ?? false,
    ...(options.interactive ? { interactive: true } : {}),
  };
}

export const ABECS_PINPAD_SUITE: DiagnosticSuite = {
  name: 'abecs-pinpad-standard',
  family: 'abecs_pinpad',
  title: { en: 'PinPad (ABECS) full check', fa: 'بررسی کامل پین‌پد (ABECS)' },
  steps: [
    openStep,
    identifyStep,
    check('display', 'Display test', 'آزمون نمایشگر'),
    check('keypad', 'Keypad test', 'آزمون صفحه‌کلید', { interactive: true }),
    check('card_events', 'Card reader test (swipe, chip, tap)', 'آزمون کارت‌خوان (کشیدن، تراشه، بی‌تماس)', {
      interactive: true,
      timeoutMs: CARD_EVENTS_MS,
    }),
    check('key_slots', 'Security keys loaded', 'کلیدهای امنیتی بارگذاری‌شده'),
    closeStep,
  ],
};

export const PP791_TERMINAL_SUITE: DiagnosticSuite = {
  name: 'pp791-terminal-standard',
  family: 'pp791_terminal',
  title: {
    en: 'Terminal / PinPad (PP791 dialect) full check',
    fa: 'بررسی کامل پایانه / پین‌پد (گویش PP791)',
  },
  steps: [
    openStep,
    identifyStep,
    check('self_test', 'Device self-test', 'خودآزمایی دستگاه'),
    check('hardware', 'Hardware present', 'سخت‌افزارهای موجود'),
    check('master_key', 'Master key status', 'وضعیت کلید اصلی'),
    check('baud_rate', 'Line speed', 'سرعت خط'),
    check('display', 'Display test', 'آزمون نمایشگر'),
    check('keypad', 'Keypad test', 'آزمون صفحه‌کلید', { interactive: true }),
    check('card_events', 'Card reader test (swipe, chip, tap)', 'آزمون کارت‌خوان (کشیدن، تراشه، بی‌تماس)', {
      interactive: true,
      timeoutMs: CARD_EVENTS_MS,
    }),
    closeStep,
  ],
};

export const HID_CARD_READER_SUITE: DiagnosticSuite = {
  name: 'hid-card-reader-standard',
  family: 'hid_card_reader',
  title: { en: 'USB card reader check', fa: 'بررسی کارت‌خوان USB' },
  steps: [
    openStep,
    identifyStep,
    check('swipe', 'Swipe test (per track)', 'آزمون کشیدن کارت (هر شیار)', { interactive: true }),
    check('contactless', 'Contactless (tap) test', 'آزمون بی‌تماس', { interactive: true }),
    closeStep,
  ],
};

export const SUITES: Readonly<Record<DeviceFamily, DiagnosticSuite>> = {
  abecs_pinpad: ABECS_PINPAD_SUITE,
  pp791_terminal: PP791_TERMINAL_SUITE,
  hid_card_reader: HID_CARD_READER_SUITE,
};

export function suiteForFamily(family: DeviceFamily): DiagnosticSuite {
  return SUITES[family];
}
