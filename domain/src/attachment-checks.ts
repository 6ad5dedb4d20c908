/**
 * What may be attached, checked the same way on the device (before the bytes are stored offline)
 * and on the server (before they are accepted): the content-type allow-list and the size limit of
 * model/attachments.ts, with sentences in Persian and English that say what to do next.
 */
import {
  ATTACHMENT_CONTENT_TYPES,
  ATTACHMENT_LIMITS,
  SHA256_HEX,
  type AttachmentContentType,
} from './model/attachments.ts';

export type AttachmentProblem = 'empty' | 'too_large' | 'unsupported_type' | 'too_many' | 'name_too_long';

export interface AttachmentRefusal {
  problem: AttachmentProblem;
  en: string;
  fa: string;
}

/** `image/jpeg; charset=…` → `image/jpeg` (lower case, parameters dropped). */
export function baseContentType(value: string | null | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isAttachmentContentType(value: string): value is AttachmentContentType {
  return (ATTACHMENT_CONTENT_TYPES as readonly string[]).includes(value);
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/** Sizes as people read them: "4.8 MB", "310 KB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

const LIMIT = formatBytes(ATTACHMENT_LIMITS.maxBytes);

export function attachmentRefusal(
  problem: AttachmentProblem,
  detail: { size?: number } = {},
): AttachmentRefusal {
  switch (problem) {
    case 'empty':
      return {
        problem,
        en: 'This file is empty. Choose the photo or log file again.',
        fa: 'این فایل خالی است. عکس یا فایل گزارش را دوباره انتخاب کنید.',
      };
    case 'too_large': {
      const size = detail.size === undefined ? '' : ` (${formatBytes(detail.size)})`;
      return {
        problem,
        en: `This file is too large${size}: an attachment can be at most ${LIMIT}. Take the photo at a lower resolution or split the log, then attach it again.`,
        fa: `این فایل بیش از حد بزرگ است${size}؛ هر پیوست حداکثر ${LIMIT} می‌تواند باشد. عکس را با کیفیت کمتر بگیرید یا گزارش را تقسیم کنید و دوباره پیوست کنید.`,
      };
    }
    case 'unsupported_type':
      return {
        problem,
        en: 'This kind of file cannot be attached. Attach a photo (JPEG, PNG or WebP), a PDF, or a text or JSON log.',
        fa: 'این نوع فایل قابل پیوست نیست. یک عکس (JPEG، PNG یا WebP)، یک PDF یا یک گزارش متنی یا JSON پیوست کنید.',
      };
    case 'too_many':
      return {
        problem,
        en: `A record can carry at most ${ATTACHMENT_LIMITS.maxPerDocument} attachments. Remove one before adding another.`,
        fa: `هر مورد حداکثر ${ATTACHMENT_LIMITS.maxPerDocument} پیوست می‌تواند داشته باشد. پیش از افزودن پیوست تازه یکی را حذف کنید.`,
      };
    case 'name_too_long':
      return {
        problem,
        en: `The file name is longer than ${ATTACHMENT_LIMITS.nameMax} characters. Rename the file and attach it again.`,
        fa: `نام فایل بیش از ${ATTACHMENT_LIMITS.nameMax} نویسه است. نام فایل را کوتاه کنید و دوباره پیوست کنید.`,
      };
  }
}

/** null when a file of this type and size may be attached; otherwise why not. */
export function checkAttachmentFile(file: { contentType: string; size: number }): AttachmentRefusal | null {
  if (!isAttachmentContentType(baseContentType(file.contentType)))
    return attachmentRefusal('unsupported_type');
  if (file.size <= 0) return attachmentRefusal('empty');
  if (file.size > ATTACHMENT_LIMITS.maxBytes) return attachmentRefusal('too_large', { size: file.size });
  return null;
}
