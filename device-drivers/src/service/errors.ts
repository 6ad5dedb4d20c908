/**
 * Errors of the device service, each with a sentence in Persian and English that tells the
 * technician what to do next. The IPC layer and the local agent send `toServiceErrorPayload(e)`.
 */
import type { DiagnosticErrorCode } from '@emdad/domain';
import { TRANSPORT_ERROR_SENTENCES } from '../transport/serial-transport.ts';
import { TransportError } from '../transport/transport.ts';

export const DEVICE_SERVICE_ERROR_SENTENCES = {
  port_busy: TRANSPORT_ERROR_SENTENCES.port_busy,
  port_in_session: {
    en: 'This port is already connected in Emdad. Finish or cancel the running test, or disconnect the device, then connect again.',
    fa: 'این پورت هم‌اکنون در امداد متصل است. آزمون در حال اجرا را تمام یا لغو کنید یا دستگاه را قطع کنید و سپس دوباره متصل شوید.',
  },
  permission_denied: TRANSPORT_ERROR_SENTENCES.permission_denied,
  not_found: TRANSPORT_ERROR_SENTENCES.not_found,
  unplugged: TRANSPORT_ERROR_SENTENCES.unplugged,
  io_error: TRANSPORT_ERROR_SENTENCES.io_error,
  protocol_not_recognised: {
    en: 'The device on this port did not answer in any protocol Emdad knows. Check that it is powered on and showing its idle screen, and that you used its data cable; then try again or choose the protocol by hand.',
    fa: 'دستگاه روی این پورت به هیچ‌یک از پروتکل‌های شناخته‌شده در امداد پاسخ نداد. روشن بودن دستگاه، نمایش صفحهٔ آماده و استفاده از کابل دادهٔ آن را بررسی کنید؛ سپس دوباره تلاش کنید یا پروتکل را دستی انتخاب کنید.',
  },
  session_not_found: {
    en: 'This device is no longer connected in Emdad. Connect it again from the device list.',
    fa: 'این دستگاه دیگر در امداد متصل نیست. آن را دوباره از فهرست دستگاه‌ها متصل کنید.',
  },
  session_busy: {
    en: 'A test is already running on this device. Wait for it to finish or cancel it first.',
    fa: 'آزمونی هم‌اکنون روی این دستگاه در حال اجراست. صبر کنید تمام شود یا ابتدا آن را لغو کنید.',
  },
  still_connected: {
    en: 'This device is still connected: there is nothing to reconnect. Run the test again instead.',
    fa: 'این دستگاه هنوز متصل است و نیازی به اتصال دوباره نیست. به‌جای آن آزمون را دوباره اجرا کنید.',
  },
  run_not_found: {
    en: 'This test run is not known (it may have been cleared). Start the test again.',
    fa: 'این اجرای آزمون شناخته نشد (ممکن است پاک شده باشد). آزمون را دوباره شروع کنید.',
  },
  identify_failed: {
    en: 'The device answered but did not report its identity. Run the full test to see which step fails, and attach the report to the case.',
    fa: 'دستگاه پاسخ داد اما مشخصات خود را گزارش نکرد. آزمون کامل را اجرا کنید تا مرحلهٔ ناموفق مشخص شود و گزارش را به پرونده پیوست کنید.',
  },
  bad_request: {
    en: 'The request to the device service was not understood. Update the app and try again.',
    fa: 'درخواست به سرویس دستگاه نامعتبر بود. برنامه را به‌روز کنید و دوباره تلاش کنید.',
  },
  internal: {
    en: 'Something went wrong in the device service. Disconnect the device, connect it again and retry; if it repeats, tell support.',
    fa: 'خطایی در سرویس دستگاه رخ داد. دستگاه را قطع و دوباره وصل کنید و دوباره تلاش کنید؛ اگر تکرار شد به پشتیبانی اطلاع دهید.',
  },
} as const satisfies Record<string, { en: string; fa: string }>;

export type DeviceServiceErrorCode = keyof typeof DEVICE_SERVICE_ERROR_SENTENCES;

export interface DeviceServiceErrorPayload {
  code: DeviceServiceErrorCode;
  /** English, for logs. */
  message: string;
  sentence: { en: string; fa: string };
  /** The stable diagnostic code (knowledge articles key on it), when one applies. */
  diagnosticCode: DiagnosticErrorCode | null;
}

const DIAGNOSTIC_CODE: Partial<Record<DeviceServiceErrorCode, DiagnosticErrorCode>> = {
  port_busy: 'DIAG-PORT-001',
  port_in_session: 'DIAG-PORT-001',
  permission_denied: 'DIAG-PORT-002',
  unplugged: 'DIAG-LINK-003',
  protocol_not_recognised: 'DIAG-LINK-004',
};

export class DeviceServiceError extends Error {
  readonly code: DeviceServiceErrorCode;
  readonly sentence: { en: string; fa: string };
  readonly diagnosticCode: DiagnosticErrorCode | null;

  constructor(code: DeviceServiceErrorCode, detail?: string, options?: { cause?: unknown }) {
    const sentence = DEVICE_SERVICE_ERROR_SENTENCES[code];
    super(
      detail ? `${sentence.en} (${detail})` : sentence.en,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'DeviceServiceError';
    this.code = code;
    this.sentence = sentence;
    this.diagnosticCode = DIAGNOSTIC_CODE[code] ?? null;
  }

  toPayload(): DeviceServiceErrorPayload {
    return {
      code: this.code,
      message: this.message,
      sentence: this.sentence,
      diagnosticCode: this.diagnosticCode,
    };
  }
}

export function fromTransportError(error: TransportError): DeviceServiceError {
  switch (error.code) {
    case 'port_busy':
    case 'permission_denied':
    case 'not_found':
    case 'unplugged':
      return new DeviceServiceError(error.code, error.message, { cause: error });
    case 'closed':
      return new DeviceServiceError('unplugged', error.message, { cause: error });
    default:
      return new DeviceServiceError('io_error', error.message, { cause: error });
  }
}

export function toServiceErrorPayload(error: unknown): DeviceServiceErrorPayload {
  if (error instanceof DeviceServiceError) return error.toPayload();
  if (error instanceof TransportError) return fromTransportError(error).toPayload();
  const detail = error instanceof Error ? error.message : String(error);
  return new DeviceServiceError('internal', detail).toPayload();
}
