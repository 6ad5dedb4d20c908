/**
 * The readable bench report of `emdad-diag`: identity, one line per step with its measured values
 * and message, the verdict and what each error code means. Plain text, so it can be pasted into a
 * case or a chat with support as it is.
 */
import {
  DIAGNOSTIC_ERROR_CODES,
  type DiagnosticRunResult,
  type StepStatus,
  type Verdict,
} from '@emdad/domain';
import type { SerialLineSettings } from '../transport/transport.ts';
import { describeLineSettings } from '../diagnostics/auto-detect.ts';

export type ReportLanguage = 'en' | 'fa';

const STATUS_LABEL: Record<StepStatus, Record<ReportLanguage, string>> = {
  pass: { en: 'PASS', fa: 'موفق' },
  fail: { en: 'FAIL', fa: 'ناموفق' },
  warn: { en: 'WARN', fa: 'هشدار' },
  skipped: { en: 'SKIP', fa: 'اجرا نشد' },
  not_supported: { en: 'N/A ', fa: 'پشتیبانی نمی‌شود' },
};

export const VERDICT_SENTENCES: Record<Verdict, Record<ReportLanguage, string>> = {
  healthy: { en: 'Healthy: every test passed.', fa: 'سالم: همهٔ آزمون‌ها موفق بود.' },
  degraded: {
    en: 'Degraded: the device works but something needs attention (see warnings).',
    fa: 'کارکرد ناقص: دستگاه کار می‌کند اما موردی نیاز به رسیدگی دارد (هشدارها را ببینید).',
  },
  faulty: {
    en: 'Faulty: at least one test failed. Follow the error codes below.',
    fa: 'معیوب: دست‌کم یک آزمون ناموفق بود. کدهای خطای زیر را دنبال کنید.',
  },
  incomplete: {
    en: 'Incomplete: the run could not finish, so the device could not be judged. Fix the connection and run again.',
    fa: 'ناتمام: اجرا کامل نشد و وضعیت دستگاه مشخص نیست. اتصال را درست کنید و دوباره اجرا کنید.',
  },
};

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function formatValues(values: Record<string, unknown>): string {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  return entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ');
}

export interface ReportContext {
  protocol?: string | null;
  line?: SerialLineSettings | null;
  variant?: string | null;
  /** Include each step's raw frames (hex) for support. */
  frames?: boolean;
}

export function formatRunReport(
  result: DiagnosticRunResult,
  lang: ReportLanguage,
  context: ReportContext = {},
): string {
  const lines: string[] = [];
  const fa = lang === 'fa';
  lines.push(`${fa ? 'پورت' : 'Port'}: ${result.port}`);
  const link = [
    context.protocol ? context.protocol.toUpperCase() : null,
    context.line ? describeLineSettings(context.line) : null,
    context.variant ?? null,
  ]
    .filter(Boolean)
    .join(' · ');
  if (link) lines.push(`${fa ? 'پروتکل' : 'Protocol'}: ${link}`);
  lines.push(`${fa ? 'مجموعه آزمون' : 'Suite'}: ${result.suite} (${result.family})`);
  const id = result.identity;
  if (id) {
    const fields: [string, string, string | null][] = [
      ['Manufacturer', 'سازنده', id.manufacturer],
      ['Model', 'مدل', id.model],
      ['Serial number', 'شماره سریال', id.serialNumber],
      ['Firmware', 'میان‌افزار', id.firmwareVersion],
      ['Application', 'برنامه', id.appVersion],
    ];
    for (const [en, faName, value] of fields) if (value !== null) lines.push(`${fa ? faName : en}: ${value}`);
  }
  lines.push('');
  const width = Math.max(...result.steps.map((s) => s.title.length), 10);
  for (const step of result.steps) {
    const status = STATUS_LABEL[step.status][lang].padEnd(fa ? 0 : 4);
    const duration =
      step.status === 'skipped' || step.status === 'not_supported'
        ? ''
        : ` ${(step.durationMs / 1000).toFixed(2)}s`;
    lines.push(
      `[${status}] ${step.title.padEnd(width)}${duration}${step.errorCode ? `  ${step.errorCode}` : ''}`,
    );
    const values = formatValues(step.values);
    if (values && step.status !== 'not_supported') lines.push(`         ${values}`);
    if (step.message) lines.push(`         ${step.message}`);
    if (context.frames) for (const f of step.frames) lines.push(`         ${f.direction} ${f.hex}`);
  }
  lines.push('');
  lines.push(
    `${fa ? 'نتیجه' : 'Verdict'}: ${result.verdict.toUpperCase()} — ${VERDICT_SENTENCES[result.verdict][lang]}`,
  );
  for (const code of result.errorCodes) lines.push(`  ${code}: ${DIAGNOSTIC_ERROR_CODES[code]}`);
  return lines.join('\n');
}
