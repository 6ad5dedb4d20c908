/**
 * Tracking codes, minted offline: `PPP-YYYY-SSSSSS-C`
 *   PPP    the install's enrolment prefix (unique per install, issued by the server once),
 *   YYYY   the Jalali year the case was opened,
 *   SSSSSS the install's own sequence (at least 6 digits, grows if needed),
 *   C      a check character.
 * Uniqueness needs no round trip: prefixes never repeat across installs, sequences never repeat
 * within one. The check character is a weighted sum modulo the prime 31 over a 31-symbol alphabet
 * (value v_i at weight 3^i): a single wrong character changes the sum by d·3^i ≠ 0 (mod 31), and a
 * swap of neighbours by (a−b)·3^i·(3−1) ≠ 0 (mod 31), so both are always caught.
 * The alphabet leaves out I, L, O, S, U, easily confused with 1, 1, 0, 5, V over the phone.
 */
export const TRACKING_ALPHABET = '0123456789ABCDEFGHJKMNPQRTVWXYZ';
const MODULUS = TRACKING_ALPHABET.length; // 31, prime
const RADIX = 3;
export const TRACKING_PREFIX_LENGTH = 3;
const SEQUENCE_MIN_DIGITS = 6;

const CONFUSABLE: Record<string, string> = { I: '1', L: '1', O: '0', S: '5', U: 'V' };
const PERSIAN_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const ARABIC_DIGITS = '٠١٢٣٤٥٦٧٨٩';

/** Upper-cases, maps Persian/Arabic digits and look-alike letters, and drops separators. */
export function normaliseTrackingCode(input: string): string {
  let out = '';
  for (const raw of input.toUpperCase()) {
    let ch = raw;
    const persian = PERSIAN_DIGITS.indexOf(ch);
    const arabic = ARABIC_DIGITS.indexOf(ch);
    if (persian >= 0) ch = String(persian);
    else if (arabic >= 0) ch = String(arabic);
    ch = CONFUSABLE[ch] ?? ch;
    if (TRACKING_ALPHABET.includes(ch)) out += ch;
  }
  return out;
}

export function checkCharacter(body: string): string {
  let sum = 0;
  let weight = RADIX; // weights start at 3 so the check character itself carries weight 1
  for (let i = body.length - 1; i >= 0; i--) {
    const value = TRACKING_ALPHABET.indexOf(body[i]!);
    if (value < 0) throw new RangeError(`character ${body[i]} is not in the tracking alphabet`);
    sum = (sum + value * weight) % MODULUS;
    weight = (weight * RADIX) % MODULUS;
  }
  return TRACKING_ALPHABET[(MODULUS - sum) % MODULUS]!;
}

export function isValidPrefix(prefix: string): boolean {
  return prefix.length === TRACKING_PREFIX_LENGTH && [...prefix].every((c) => TRACKING_ALPHABET.includes(c));
}

/** Prefix number n (0 ≤ n < 31³) to its 3-character form; the server hands these out in order. */
export function prefixFromNumber(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= MODULUS ** TRACKING_PREFIX_LENGTH)
    throw new RangeError('prefix number out of range');
  let out = '';
  let rest = n;
  for (let i = 0; i < TRACKING_PREFIX_LENGTH; i++) {
    out = TRACKING_ALPHABET[rest % MODULUS]! + out;
    rest = Math.floor(rest / MODULUS);
  }
  return out;
}

export function formatTrackingCode(prefix: string, jalaliYear: number, sequence: number): string {
  if (!isValidPrefix(prefix)) throw new RangeError(`invalid install prefix ${prefix}`);
  if (!Number.isInteger(jalaliYear) || jalaliYear < 1300 || jalaliYear > 9999)
    throw new RangeError('invalid Jalali year');
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new RangeError('sequence must be a positive integer');
  const seq = String(sequence).padStart(SEQUENCE_MIN_DIGITS, '0');
  const body = `${prefix}${jalaliYear}${seq}`;
  return `${prefix}-${jalaliYear}-${seq}-${checkCharacter(body)}`;
}

export type TrackingCodeCheck =
  | { ok: true; code: string; prefix: string; jalaliYear: number; sequence: number }
  | { ok: false; reason: 'format' | 'check' };

/** Validates what a person typed or read out; accepts lower case, Persian digits, missing dashes. */
export function parseTrackingCode(input: string): TrackingCodeCheck {
  const flat = normaliseTrackingCode(input);
  const match = /^([0-9A-Z]{3})(\d{4})(\d{6,})([0-9A-Z])$/.exec(flat);
  if (!match) return { ok: false, reason: 'format' };
  const [, prefix, year, seq, check] = match as unknown as [string, string, string, string, string];
  if (!isValidPrefix(prefix)) return { ok: false, reason: 'format' };
  if (checkCharacter(`${prefix}${year}${seq}`) !== check) return { ok: false, reason: 'check' };
  return {
    ok: true,
    code: `${prefix}-${year}-${seq}-${check}`,
    prefix,
    jalaliYear: Number(year),
    sequence: Number(seq),
  };
}

/** The Jalali (Solar Hijri) year of an instant, in Tehran. */
export function jalaliYearOf(date: Date): number {
  const parts = new Intl.DateTimeFormat('en-US-u-ca-persian-nu-latn', {
    year: 'numeric',
    timeZone: 'Asia/Tehran',
  }).formatToParts(date);
  const year = parts.find((p) => p.type === 'year')?.value;
  return Number(year);
}
