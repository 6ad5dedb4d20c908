/**
 * Public case tracking (issue 5, part 9): what a merchant may learn with a tracking code and the last
 * four digits of the phone number they gave — the case's status, when it was opened and last
 * changed, the public timeline, and whether a survey waits for them. Nothing else: no names, no
 * ids but the tracking code, no internal notes. Shared by the server (answers) and the public page
 * at `/track` (sentences, labels). Pure and free of libraries (the page bundles it); the request
 * schemas are in public-tracking-api.ts.
 */
import type { CaseStatus } from './case-state.ts';
import type { LocalizedName } from './api.ts';

export const PUBLIC_TRACKING_ROUTES = {
  /** POST { code, phone4 } → PublicTrackingAnswer. */
  track: '/api/public/track',
  /** POST { code, phone4, score, comment } → PublicSurveyAnswerResult. */
  survey: '/api/public/track/survey',
  /** The merchant's page. */
  page: '/track',
} as const;

const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const ARABIC_DIGITS = '٠١٢٣٤٥٦٧٨٩';

/** Persian and Arabic-Indic digits to ASCII; everything else as it is. */
export function asciiDigits(input: string): string {
  let out = '';
  for (const ch of input) {
    const p = PERSIAN_DIGITS.indexOf(ch);
    const a = ARABIC_DIGITS.indexOf(ch);
    out += p >= 0 ? String(p) : a >= 0 ? String(a) : ch;
  }
  return out;
}

/** The last four digits of a stored phone number (only digits count). */
export function lastFourDigits(phone: string): string {
  return asciiDigits(phone)
    .replace(/[^0-9]/g, '')
    .slice(-4);
}

export type PublicTimelineKind = 'created' | 'status_change' | 'message';

export interface PublicTimelineEntry {
  /** ISO time it happened. */
  at: string;
  kind: PublicTimelineKind;
  label: LocalizedName;
  /** A public message to the customer (kind `message` only), else null. */
  note: string | null;
}

export interface PublicTrackingAnswer {
  trackingCode: string;
  status: { code: CaseStatus; label: LocalizedName };
  createdAt: string;
  updatedAt: string;
  timeline: PublicTimelineEntry[];
  /** The case's survey when it is closed: `pending` (the page offers the form) or `answered`. */
  survey: { status: 'pending' | 'answered' } | null;
}

export interface PublicSurveyAnswerResult {
  ok: true;
  survey: { status: 'answered' };
  /** True when the answer's rules created a call-back task (the page promises a call). */
  callbackPromised: boolean;
}

/** The exact keys of the answers (tests assert them: nothing else may leave the server). */
export const PUBLIC_TRACKING_ANSWER_KEYS = [
  'trackingCode',
  'status',
  'createdAt',
  'updatedAt',
  'timeline',
  'survey',
] as const;
export const PUBLIC_TIMELINE_ENTRY_KEYS = ['at', 'kind', 'label', 'note'] as const;

/** Statuses in the merchant's words (not the staff console's). */
export const PUBLIC_STATUS_LABELS: Readonly<Record<CaseStatus, LocalizedName>> = {
  new: { fa: 'ثبت شد', en: 'Received' },
  triaged: { fa: 'در حال بررسی', en: 'Being reviewed' },
  in_progress: { fa: 'در حال انجام', en: 'In progress' },
  pending_customer: { fa: 'در انتظار پاسخ شما', en: 'Waiting for your reply' },
  pending_vendor: { fa: 'در انتظار قطعه یا تأمین‌کننده', en: 'Waiting for a part or the vendor' },
  resolved: { fa: 'رفع شد', en: 'Resolved' },
  closed: { fa: 'بسته شد', en: 'Closed' },
  reopened: { fa: 'دوباره باز شد', en: 'Reopened' },
};

export const PUBLIC_TIMELINE_LABELS = {
  created: { fa: 'درخواست شما ثبت شد', en: 'Your request was received' },
  message: { fa: 'پیام پشتیبانی', en: 'Message from support' },
} as const satisfies Record<string, LocalizedName>;

/** The label of a status change in the timeline: “Status: <status>”. */
export function statusChangeLabel(to: CaseStatus): LocalizedName {
  const status = PUBLIC_STATUS_LABELS[to];
  return { fa: `وضعیت: ${status.fa}`, en: `Status: ${status.en}` };
}

/**
 * What the page says, per outcome. A wrong code and a wrong phone number are the same outcome on
 * purpose (`not_found`): the page must not tell which of the two was wrong.
 */
export const PUBLIC_TRACKING_SENTENCES = {
  not_found: {
    en: 'No request matches this tracking code and phone number. Check the code on your receipt and enter the last four digits of the phone number you gave when you reported the problem.',
    fa: 'درخواستی با این کد پیگیری و شمارهٔ تلفن یافت نشد. کد را با رسید خود مقایسه کنید و چهار رقم آخر شماره‌ای را که هنگام ثبت درخواست دادید وارد کنید.',
  },
  code_typo: {
    en: 'This tracking code has a typing mistake. Compare it character by character with the code on your receipt.',
    fa: 'این کد پیگیری اشتباه تایپی دارد. آن را نویسه به نویسه با کد روی رسید خود مقایسه کنید.',
  },
  code_format: {
    en: 'A tracking code looks like ABC-1405-000123-X. Copy it from your receipt, including every letter and digit.',
    fa: 'کد پیگیری به شکل ABC-1405-000123-X است. آن را با همهٔ حروف و ارقام از روی رسید خود وارد کنید.',
  },
  phone_format: {
    en: 'Enter exactly four digits: the last four digits of the phone number you gave.',
    fa: 'دقیقاً چهار رقم وارد کنید: چهار رقم آخر شماره تلفنی که داده‌اید.',
  },
  code_locked: {
    en: 'Too many wrong tries for this tracking code. For your security it is locked for a while; try again in {minutes} minutes, or call the support line.',
    fa: 'برای این کد پیگیری تلاش‌های نادرست زیادی انجام شد. برای امنیت شما مدتی قفل شده است؛ {minutes} دقیقهٔ دیگر دوباره تلاش کنید یا با پشتیبانی تماس بگیرید.',
  },
  rate_limited: {
    en: 'Too many requests from this connection. Wait a minute and try again.',
    fa: 'تعداد درخواست‌ها از این اتصال زیاد است. یک دقیقه صبر کنید و دوباره تلاش کنید.',
  },
  network: {
    en: 'The tracking service cannot be reached. Check your internet connection and try again.',
    fa: 'سرویس پیگیری در دسترس نیست. اتصال اینترنت خود را بررسی و دوباره تلاش کنید.',
  },
  server: {
    en: 'Something went wrong on our side. Try again in a few minutes; if it repeats, call the support line.',
    fa: 'خطایی در سمت ما رخ داد. چند دقیقهٔ دیگر دوباره تلاش کنید؛ اگر تکرار شد با پشتیبانی تماس بگیرید.',
  },
  survey_thanks: {
    en: 'Thank you. Your answer was recorded.',
    fa: 'سپاسگزاریم. پاسخ شما ثبت شد.',
  },
  survey_thanks_callback: {
    en: 'Thank you. We are sorry it did not go well: a manager will call you back.',
    fa: 'سپاسگزاریم. متأسفیم که تجربهٔ خوبی نداشتید: یکی از مدیران با شما تماس خواهد گرفت.',
  },
} as const satisfies Record<string, LocalizedName>;

export type PublicTrackingOutcome = keyof typeof PUBLIC_TRACKING_SENTENCES;

/** `details.reason` of the server's error answers, for the page to pick its sentence. */
export type PublicTrackingErrorReason =
  | 'not_found'
  | 'code_typo'
  | 'code_format'
  | 'phone_format'
  | 'code_locked'
  | 'rate_limited'
  | 'case_not_closed'
  | 'already_answered'
  | 'bad_score'
  | 'comment_too_long';
