/**
 * The merchant's tracking page: a tracking code and the last four phone digits → the case's status
 * and public timeline, and the survey when the case is closed. Persian (RTL) first, English on a
 * switch. Bundled by the sync server (src/public-tracking/page.ts); plain DOM, no framework.
 * The tracking code's check character is verified here too, so a typo is caught before any request.
 */
import { parseTrackingCode } from '@emdad/domain/tracking-code';
import {
  asciiDigits,
  PUBLIC_TRACKING_ROUTES,
  PUBLIC_TRACKING_SENTENCES,
  type PublicSurveyAnswerResult,
  type PublicTrackingAnswer,
  type PublicTrackingErrorReason,
} from '@emdad/domain/public-tracking';
import { SURVEY_COMMENT_MAX, SURVEY_SENTENCES } from '@emdad/domain/workflow/survey';

type Lang = 'fa' | 'en';
type Sentence = { fa: string; en: string };

const TEXT = {
  title: { fa: 'پیگیری درخواست', en: 'Track your request' },
  switchLanguage: { fa: 'English', en: 'فارسی' },
  intro: {
    fa: 'کد پیگیری روی رسید خود و چهار رقم آخر شماره تلفنی را که هنگام ثبت درخواست دادید وارد کنید.',
    en: 'Enter the tracking code on your receipt and the last four digits of the phone number you gave when you reported the problem.',
  },
  codeLabel: { fa: 'کد پیگیری', en: 'Tracking code' },
  codeHint: {
    fa: 'مانند ABC-1405-000123-X (خط تیره لازم نیست)',
    en: 'Like ABC-1405-000123-X (dashes are optional)',
  },
  phoneLabel: { fa: 'چهار رقم آخر شماره تلفن', en: 'Last four digits of your phone number' },
  phoneHint: { fa: 'ارقام فارسی یا انگلیسی', en: 'Persian or Latin digits' },
  submit: { fa: 'نمایش وضعیت', en: 'Show status' },
  checking: { fa: 'در حال بررسی…', en: 'Checking…' },
  statusHeading: { fa: 'وضعیت درخواست', en: 'Status of your request' },
  createdAt: { fa: 'ثبت', en: 'Received' },
  updatedAt: { fa: 'آخرین تغییر', en: 'Last change' },
  timelineHeading: { fa: 'روند رسیدگی', en: 'What happened so far' },
  surveyHeading: { fa: 'نظرسنجی', en: 'Survey' },
  surveyQuestion: {
    fa: 'چقدر از رسیدگی به درخواست خود راضی بودید؟ (۱ بسیار ناراضی، ۵ بسیار راضی)',
    en: 'How satisfied are you with how your request was handled? (1 very dissatisfied, 5 very satisfied)',
  },
  commentLabel: { fa: 'توضیح (اختیاری)', en: 'Comment (optional)' },
  surveySubmit: { fa: 'ثبت نظر', en: 'Send answer' },
  chooseScore: { fa: 'یک امتیاز از ۱ تا ۵ انتخاب کنید.', en: 'Choose a score from 1 to 5.' },
} as const satisfies Record<string, Sentence>;

const SCORE_NAMES: Record<number, Sentence> = {
  1: { fa: 'بسیار ناراضی', en: 'Very dissatisfied' },
  2: { fa: 'ناراضی', en: 'Dissatisfied' },
  3: { fa: 'متوسط', en: 'Neutral' },
  4: { fa: 'راضی', en: 'Satisfied' },
  5: { fa: 'بسیار راضی', en: 'Very satisfied' },
};

const LANG_KEY = 'emdad.track.lang';
let lang: Lang = readLang();
let answer: PublicTrackingAnswer | null = null;
/** The proofs of the case on screen, for the survey answer. */
let proofs: { code: string; phone4: string } | null = null;
let lastError: { el: HTMLElement; sentence: Sentence; reason: string } | null = null;
let surveyDone: Sentence | null = null;

function readLang(): Lang {
  try {
    return localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'fa';
  } catch {
    return 'fa';
  }
}

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const persianDigits = (s: string) => s.replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]!);

function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(lang === 'fa' ? 'fa-IR-u-ca-persian' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: 'Asia/Tehran',
  }).format(date);
}

function showError(el: HTMLElement, sentence: Sentence, reason: string): void {
  lastError = { el, sentence, reason };
  el.textContent = sentence[lang];
  el.dataset.reason = reason;
  el.hidden = false;
}

function clearError(el: HTMLElement): void {
  if (lastError?.el === el) lastError = null;
  el.hidden = true;
  el.textContent = '';
  delete el.dataset.reason;
}

function sentenceFor(reason: string, details: { retryAfterSeconds?: number }): Sentence {
  if (reason in SURVEY_SENTENCES) return SURVEY_SENTENCES[reason as keyof typeof SURVEY_SENTENCES];
  if (reason === 'code_locked') {
    const minutes = Math.max(1, Math.ceil((details.retryAfterSeconds ?? 60) / 60));
    const s = PUBLIC_TRACKING_SENTENCES.code_locked;
    return {
      fa: s.fa.replace('{minutes}', persianDigits(String(minutes))),
      en: s.en.replace('{minutes}', String(minutes)),
    };
  }
  if (reason in PUBLIC_TRACKING_SENTENCES)
    return PUBLIC_TRACKING_SENTENCES[reason as keyof typeof PUBLIC_TRACKING_SENTENCES];
  return PUBLIC_TRACKING_SENTENCES.server;
}

/** POSTs JSON; answers the body, or the reason and sentence of the failure. */
async function post<T>(
  path: string,
  body: unknown,
): Promise<{ ok: true; value: T } | { ok: false; reason: string; sentence: Sentence }> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    return { ok: false, reason: 'network', sentence: PUBLIC_TRACKING_SENTENCES.network };
  }
  const json = (await response.json().catch(() => null)) as
    | (T & {
        error?: {
          code?: string;
          details?: { reason?: PublicTrackingErrorReason; retryAfterSeconds?: number };
        };
      })
    | null;
  if (response.ok && json) return { ok: true, value: json };
  const details = json?.error?.details ?? {};
  const reason = details.reason ?? (response.status === 429 ? 'rate_limited' : 'server');
  return { ok: false, reason, sentence: sentenceFor(reason, details) };
}

function renderTexts(): void {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'fa' ? 'rtl' : 'ltr';
  document.title = `${TEXT.title[lang]} — ${lang === 'fa' ? 'امداد' : 'Emdad'}`;
  for (const el of document.querySelectorAll<HTMLElement>('[data-text]')) {
    const key = el.dataset.text as keyof typeof TEXT;
    if (TEXT[key]) el.textContent = TEXT[key][lang];
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-score-name]'))
    el.textContent = `${lang === 'fa' ? persianDigits(el.dataset.scoreName!) : el.dataset.scoreName} — ${SCORE_NAMES[Number(el.dataset.scoreName)]![lang]}`;
  if (lastError) showError(lastError.el, lastError.sentence, lastError.reason);
  if (surveyDone) byId('survey-done').textContent = surveyDone[lang];
  if (answer) renderAnswer(answer);
}

function renderAnswer(value: PublicTrackingAnswer): void {
  const status = byId('status');
  status.textContent = value.status.label[lang];
  status.dataset.status = value.status.code;
  byId('created-at').textContent = formatTime(value.createdAt);
  byId('updated-at').textContent = formatTime(value.updatedAt);
  const list = byId('timeline');
  list.replaceChildren(
    ...value.timeline.map((entry) => {
      const item = document.createElement('li');
      item.dataset.testid = 'track-timeline-entry';
      item.dataset.kind = entry.kind;
      const time = document.createElement('time');
      time.dateTime = entry.at;
      time.textContent = formatTime(entry.at);
      const label = document.createElement('span');
      label.textContent = entry.label[lang];
      item.append(time, label);
      if (entry.note) {
        const note = document.createElement('p');
        note.className = 'note';
        note.textContent = entry.note;
        item.append(note);
      }
      return item;
    }),
  );
  byId('result').hidden = false;
  const survey = byId('survey');
  survey.hidden = value.survey === null;
  survey.dataset.status = value.survey?.status ?? '';
  byId('survey-form').hidden = value.survey?.status !== 'pending';
  if (value.survey?.status === 'answered' && !surveyDone) {
    surveyDone = SURVEY_SENTENCES.already_answered;
    byId('survey-done').textContent = surveyDone[lang];
  }
  byId('survey-done').hidden = surveyDone === null;
}

async function onTrack(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const error = byId('track-error');
  clearError(error);
  const codeInput = byId<HTMLInputElement>('code');
  const phoneInput = byId<HTMLInputElement>('phone4');
  const code = parseTrackingCode(codeInput.value);
  if (!code.ok) {
    showError(
      error,
      PUBLIC_TRACKING_SENTENCES[code.reason === 'check' ? 'code_typo' : 'code_format'],
      code.reason === 'check' ? 'code_typo' : 'code_format',
    );
    codeInput.focus();
    return;
  }
  const phone4 = asciiDigits(phoneInput.value).replace(/[\s-]/g, '');
  if (!/^[0-9]{4}$/.test(phone4)) {
    showError(error, PUBLIC_TRACKING_SENTENCES.phone_format, 'phone_format');
    phoneInput.focus();
    return;
  }
  const submit = byId<HTMLButtonElement>('track-submit');
  submit.disabled = true;
  submit.textContent = TEXT.checking[lang];
  try {
    const result = await post<PublicTrackingAnswer>(PUBLIC_TRACKING_ROUTES.track, {
      code: code.code,
      phone4,
    });
    answer = null;
    proofs = null;
    surveyDone = null;
    byId('result').hidden = true;
    byId('survey').hidden = true;
    if (!result.ok) {
      showError(error, result.sentence, result.reason);
      return;
    }
    answer = result.value;
    proofs = { code: code.code, phone4 };
    codeInput.value = code.code;
    clearError(byId('survey-error'));
    renderAnswer(result.value);
  } finally {
    submit.disabled = false;
    submit.textContent = TEXT.submit[lang];
  }
}

async function onSurvey(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const error = byId('survey-error');
  clearError(error);
  if (!proofs) return;
  const chosen = document.querySelector<HTMLInputElement>('input[name="score"]:checked');
  if (!chosen) {
    showError(error, TEXT.chooseScore, 'bad_score');
    return;
  }
  const comment = byId<HTMLTextAreaElement>('survey-comment').value.trim();
  const submit = byId<HTMLButtonElement>('survey-submit');
  submit.disabled = true;
  try {
    const result = await post<PublicSurveyAnswerResult>(PUBLIC_TRACKING_ROUTES.survey, {
      ...proofs,
      score: Number(chosen.value),
      comment: comment || null,
    });
    if (!result.ok) {
      showError(error, result.sentence, result.reason);
      if (result.reason === 'already_answered') byId('survey-form').hidden = true;
      return;
    }
    surveyDone = result.value.callbackPromised
      ? PUBLIC_TRACKING_SENTENCES.survey_thanks_callback
      : PUBLIC_TRACKING_SENTENCES.survey_thanks;
    if (answer) answer = { ...answer, survey: { status: 'answered' } };
    byId('survey-form').hidden = true;
    const done = byId('survey-done');
    done.textContent = surveyDone[lang];
    done.hidden = false;
  } finally {
    submit.disabled = false;
  }
}

function buildScores(): void {
  const scores = byId('scores');
  for (let score = 1; score <= 5; score++) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'score';
    input.value = String(score);
    input.dataset.testid = `survey-score-${score}`;
    const name = document.createElement('span');
    name.dataset.scoreName = String(score);
    label.append(input, name);
    scores.append(label);
  }
}

function start(): void {
  buildScores();
  byId<HTMLTextAreaElement>('survey-comment').maxLength = SURVEY_COMMENT_MAX;
  byId('lang').addEventListener('click', () => {
    lang = lang === 'fa' ? 'en' : 'fa';
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch {
      // private mode: the switch still works for this visit
    }
    renderTexts();
  });
  byId<HTMLFormElement>('track-form').addEventListener('submit', (e) => void onTrack(e));
  byId<HTMLFormElement>('survey-form').addEventListener('submit', (e) => void onSurvey(e));
  renderTexts();
  document.body.dataset.ready = 'true';
}

start();
