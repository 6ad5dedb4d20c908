import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  TRACKING_ALPHABET,
  checkCharacter,
  formatTrackingCode,
  jalaliYearOf,
  normaliseTrackingCode,
  parseTrackingCode,
  prefixFromNumber,
} from './tracking-code.ts';

describe('tracking codes', () => {
  it('formats in phone-friendly groups and parses back', () => {
    const code = formatTrackingCode('K7Q', 1405, 42);
    expect(code).toMatch(/^K7Q-1405-000042-[0-9A-Z]$/);
    expect(parseTrackingCode(code)).toMatchObject({
      ok: true,
      prefix: 'K7Q',
      jalaliYear: 1405,
      sequence: 42,
    });
  });

  it('accepts what people type: lower case, Persian digits, no dashes, look-alike letters', () => {
    const code = formatTrackingCode('K70', 1405, 123456);
    const persian = code
      .toLowerCase()
      .replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]!)
      .replaceAll('-', ' ');
    expect(parseTrackingCode(persian)).toMatchObject({ ok: true, code });
    expect(normaliseTrackingCode('k7o-1405')).toBe('K701405');
  });

  it('has no collision over 1,000,000 codes from 100 installs', () => {
    const seen = new Set<string>();
    for (let install = 0; install < 100; install++) {
      const prefix = prefixFromNumber(install * 97 + 5);
      for (let seq = 1; seq <= 10_000; seq++) seen.add(formatTrackingCode(prefix, 1405, seq));
    }
    expect(seen.size).toBe(1_000_000);
  });

  it('prefixes are distinct for every prefix number', () => {
    const all = new Set<string>();
    for (let n = 0; n < TRACKING_ALPHABET.length ** 3; n++) all.add(prefixFromNumber(n));
    expect(all.size).toBe(TRACKING_ALPHABET.length ** 3);
  });

  const codeArb = fc
    .tuple(
      fc.integer({ min: 0, max: TRACKING_ALPHABET.length ** 3 - 1 }),
      fc.integer({ min: 1300, max: 1500 }),
      fc.integer({ min: 1, max: 99_999_999 }),
    )
    .map(([p, y, s]) => formatTrackingCode(prefixFromNumber(p), y, s).replaceAll('-', ''));

  it('detects every single wrong character', () => {
    fc.assert(
      fc.property(
        codeArb,
        fc.nat(),
        fc.integer({ min: 1, max: TRACKING_ALPHABET.length - 1 }),
        (flat, posSeed, shift) => {
          const pos = posSeed % flat.length;
          const original = TRACKING_ALPHABET.indexOf(flat[pos]!);
          const replaced = TRACKING_ALPHABET[(original + shift) % TRACKING_ALPHABET.length]!;
          const broken = flat.slice(0, pos) + replaced + flat.slice(pos + 1);
          const parsed = parseTrackingCode(broken);
          expect(parsed.ok).toBe(false);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('detects every swap of neighbouring characters', () => {
    fc.assert(
      fc.property(codeArb, fc.nat(), (flat, posSeed) => {
        const pos = posSeed % (flat.length - 1);
        if (flat[pos] === flat[pos + 1]) return;
        const swapped = flat.slice(0, pos) + flat[pos + 1] + flat[pos] + flat.slice(pos + 2);
        expect(parseTrackingCode(swapped).ok).toBe(false);
      }),
      { numRuns: 20_000 },
    );
  });

  it('exhaustively: every substitution and swap of one code is caught', () => {
    const flat = formatTrackingCode('ZZ9', 1405, 1).replaceAll('-', '');
    for (let pos = 0; pos < flat.length; pos++) {
      for (const ch of TRACKING_ALPHABET) {
        if (ch === flat[pos]) continue;
        expect(parseTrackingCode(flat.slice(0, pos) + ch + flat.slice(pos + 1)).ok, `${pos}:${ch}`).toBe(
          false,
        );
      }
    }
    expect(checkCharacter(flat.slice(0, -1))).toBe(flat.at(-1));
  });

  it('refuses malformed input with a reason', () => {
    expect(parseTrackingCode('hello')).toEqual({ ok: false, reason: 'format' });
    expect(() => formatTrackingCode('TOOLONG', 1405, 1)).toThrow();
    expect(() => formatTrackingCode('K7Q', 1405, 0)).toThrow();
  });

  it('computes the Jalali year in Tehran', () => {
    expect(jalaliYearOf(new Date('2026-03-20T20:00:00Z'))).toBe(1404); // 23:30 Tehran, 29 Esfand 1404
    expect(jalaliYearOf(new Date('2026-03-20T21:00:00Z'))).toBe(1405); // 00:30 Tehran, 1 Farvardin 1405
  });
});
