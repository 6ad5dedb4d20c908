/**
 * Stable error codes shared by server and clients. The server answers `{ error: { code, message } }`
 * (message in English for logs); clients show `ERROR_SENTENCES[code][lang]`, which says what to do next.
 */
export const ERROR_SENTENCES = {
  bad_request: {
    en: 'The request was not understood. Update the app and try again.',
    fa: 'درخواست نامعتبر بود. برنامه را به‌روز کنید و دوباره تلاش کنید.',
  },
  validation_failed: {
    en: 'Some fields are missing or invalid. Correct the highlighted fields and save again.',
    fa: 'برخی فیلدها خالی یا نادرست است. فیلدهای مشخص‌شده را اصلاح و دوباره ذخیره کنید.',
  },
  server_owned_field: {
    en: 'This change tried to set a field only the server may set. Sync again to get the current version.',
    fa: 'این تغییر فیلدی را تنظیم کرده که فقط سرور مجاز به تغییر آن است. دوباره همگام‌سازی کنید.',
  },
  invalid_transition: {
    en: 'This status change is not allowed from the current status. Choose one of the allowed statuses.',
    fa: 'این تغییر وضعیت از وضعیت فعلی مجاز نیست. یکی از وضعیت‌های مجاز را انتخاب کنید.',
  },
  unauthenticated: {
    en: 'Your session has ended. Sign in again.',
    fa: 'نشست شما پایان یافته است. دوباره وارد شوید.',
  },
  token_expired: {
    en: 'Your session has expired. Sign in again to continue syncing.',
    fa: 'نشست شما منقضی شده است. برای ادامهٔ همگام‌سازی دوباره وارد شوید.',
  },
  invalid_credentials: {
    en: 'The username or password is wrong. Check them and try again.',
    fa: 'نام کاربری یا رمز عبور اشتباه است. آن‌ها را بررسی و دوباره تلاش کنید.',
  },
  account_locked: {
    en: 'Too many failed sign-ins. Wait a few minutes before trying again, or ask an administrator.',
    fa: 'تعداد ورودهای ناموفق زیاد بود. چند دقیقه صبر کنید یا با مدیر سامانه تماس بگیرید.',
  },
  forbidden: {
    en: 'Your role does not allow this. Ask your supervisor if you need access.',
    fa: 'نقش شما اجازهٔ این کار را نمی‌دهد. در صورت نیاز با سرپرست خود هماهنگ کنید.',
  },
  not_found: {
    en: 'Nothing was found here. Check the address or code and try again.',
    fa: 'موردی یافت نشد. نشانی یا کد را بررسی و دوباره تلاش کنید.',
  },
  payload_too_large: {
    en: 'The data sent is too large. Remove large attachments and try again.',
    fa: 'حجم دادهٔ ارسالی بیش از حد مجاز است. پیوست‌های بزرگ را حذف و دوباره تلاش کنید.',
  },
  rate_limited: {
    en: 'Too many requests. Wait a minute and try again.',
    fa: 'تعداد درخواست‌ها زیاد است. یک دقیقه صبر کنید و دوباره تلاش کنید.',
  },
  unknown_collection: {
    en: 'This kind of record cannot be synced by this server. Update the app.',
    fa: 'این نوع داده با این سرور همگام نمی‌شود. برنامه را به‌روز کنید.',
  },
  network_unavailable: {
    en: 'The server cannot be reached. Your work is saved on this device and will sync when the network returns.',
    fa: 'سرور در دسترس نیست. کار شما روی این دستگاه ذخیره شده و با برگشت شبکه همگام می‌شود.',
  },
  offline_login_unavailable: {
    en: 'This account has not signed in on this device recently. Connect to the network and sign in once.',
    fa: 'این حساب اخیراً روی این دستگاه وارد نشده است. یک بار با اتصال به شبکه وارد شوید.',
  },
  read_only_collection: {
    en: 'These records are kept by the central office and cannot be changed from this app. Your local change was not saved on the server; sync again to restore the official version.',
    fa: 'این داده‌ها در دفتر مرکزی نگهداری می‌شوند و از این برنامه قابل تغییر نیستند. تغییر شما روی سرور ذخیره نشد؛ برای بازگرداندن نسخهٔ رسمی دوباره همگام‌سازی کنید.',
  },
  out_of_scope: {
    en: 'This record is outside your region, branch or team, so you cannot change it. Ask your supervisor to assign it to you.',
    fa: 'این مورد خارج از منطقه، شعبه یا تیم شماست و نمی‌توانید آن را تغییر دهید. از سرپرست خود بخواهید آن را به شما واگذار کند.',
  },
  approval_field: {
    en: 'Only a supervisor can approve or reject this. Leave the approval fields empty and submit it for review.',
    fa: 'فقط سرپرست می‌تواند این مورد را تأیید یا رد کند. فیلدهای تأیید را خالی بگذارید و آن را برای بررسی ارسال کنید.',
  },
  record_closed: {
    en: 'This case is closed and can no longer be edited. Reopen it (or ask your supervisor) before changing it.',
    fa: 'این پرونده بسته شده و دیگر قابل ویرایش نیست. پیش از تغییر، آن را بازگشایی کنید یا با سرپرست خود هماهنگ کنید.',
  },
  append_only: {
    en: 'Timeline entries cannot be changed once saved. Add a new entry with the correction instead.',
    fa: 'ورودی‌های تاریخچه پس از ثبت قابل تغییر نیستند. به‌جای آن یک ورودی تازه با اصلاحیه ثبت کنید.',
  },
  install_revoked: {
    en: 'This device has been revoked by an administrator and can no longer sync. Contact your administrator to enrol it again.',
    fa: 'دسترسی این دستگاه توسط مدیر سامانه لغو شده و دیگر همگام نمی‌شود. برای ثبت دوباره با مدیر سامانه تماس بگیرید.',
  },
  internal: {
    en: 'Something went wrong on the server. Try again; if it repeats, tell support.',
    fa: 'خطایی در سرور رخ داد. دوباره تلاش کنید؛ اگر تکرار شد به پشتیبانی اطلاع دهید.',
  },
} as const satisfies Record<string, { en: string; fa: string }>;

export type ErrorCode = keyof typeof ERROR_SENTENCES;
export type Language = 'fa' | 'en';

export interface ApiErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_SENTENCES, value);
}

export function errorSentence(code: string, lang: Language): string {
  return isErrorCode(code) ? ERROR_SENTENCES[code][lang] : ERROR_SENTENCES.internal[lang];
}

/** `{ ok, value | error }` results, as in Signal Desktop's IPC. */
export type Result<T, E = { code: ErrorCode; message: string }> =
  { ok: true; value: T } | { ok: false; error: E };
