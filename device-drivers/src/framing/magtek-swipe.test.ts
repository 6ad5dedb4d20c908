import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAGTEK_SWIPE_REPORT_LENGTH,
  decodeMagtekCommandResponse,
  decodeSwipeReport,
  encodeMagtekCommand,
  encodeMagtekCommandResponse,
  encodeSwipeReport,
  maskedPanFromTrack2,
  trackVerdict,
} from './magtek-swipe.ts';

const T1 = '%B4111111111111111^TEST/EMDAD^29121010000000000000?';
const T2 = ';4111111111111111=29121010000000000000?';

describe('MagTek-style swipe report', () => {
  it('lays out status, lengths, encode type and fixed 110-byte track fields', () => {
    const report = encodeSwipeReport({
      tracks: [{ data: T1 }, { data: T2 }, { data: '', decodeError: true }],
      encodeTypeCode: 0,
    });
    expect(report.length).toBe(337);
    expect([...report.subarray(0, 7)]).toEqual([0, 0, 1, T1.length, T2.length, 0, 0]);
    expect(String.fromCharCode(report[7] ?? 0)).toBe('%');
    expect(String.fromCharCode(report[117] ?? 0)).toBe(';');
    const decoded = decodeSwipeReport(report);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.swipe.encodeType).toBe('iso_aba');
    expect(decoded.swipe.tracks.map((t) => [t.decodeError, t.length])).toEqual([
      [false, T1.length],
      [false, T2.length],
      [true, 0],
    ]);
    expect(decoded.swipe.tracks[1].data).toBe(T2);
  });

  it('rejects reports of the wrong size or with impossible lengths', () => {
    expect(decodeSwipeReport(new Uint8Array(64))).toMatchObject({ ok: false, reason: 'wrong_length' });
    const report = new Uint8Array(MAGTEK_SWIPE_REPORT_LENGTH);
    report[4] = 111;
    expect(decodeSwipeReport(report)).toMatchObject({ ok: false, reason: 'bad_track_length' });
  });

  it('gives a verdict per track', () => {
    const verdict = (track: 1 | 2 | 3, data: string, decodeError = false) =>
      trackVerdict({ track, data, length: data.length, decodeError }).verdict;
    expect(verdict(1, T1)).toBe('ok');
    expect(verdict(2, T2)).toBe('ok');
    expect(verdict(3, '')).toBe('empty');
    expect(verdict(2, '', true)).toBe('decode_error');
    expect(verdict(2, ';4111A111=?')).toBe('malformed'); // letter on a numeric track
    expect(verdict(1, 'B4111^X^29?')).toBe('malformed'); // no start sentinel
    expect(verdict(2, `;${'1'.repeat(45)}?`)).toBe('malformed'); // longer than ISO allows
  });

  it('masks the PAN to first 6 and last 4', () => {
    expect(maskedPanFromTrack2(T2)).toBe('411111******1111');
    expect(maskedPanFromTrack2(';12=?')).toBeNull();
  });

  it('property: decode(encode(x)) = x for any track contents', () => {
    const track = fc.record({
      data: fc.string({ maxLength: 110 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      decodeError: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.tuple(track, track, track), fc.integer({ min: 0, max: 6 }), (tracks, code) => {
        const decoded = decodeSwipeReport(encodeSwipeReport({ tracks, encodeTypeCode: code }));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        decoded.swipe.tracks.forEach((t, i) => {
          const input = tracks[i];
          expect(t.decodeError).toBe(input?.decodeError);
          expect(t.data).toBe(input?.decodeError ? '' : input?.data);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('property: any byte string decodes to a swipe or a reason, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ minLength: 337, maxLength: 337 })),
        (bytes) => {
          expect(() => decodeSwipeReport(bytes)).not.toThrow();
        },
      ),
    );
  });

  it('GET_PROPERTY command and response bodies', () => {
    const command = encodeMagtekCommand(0x00, Uint8Array.of(0x00));
    expect(command.length).toBe(24);
    expect([...command.subarray(0, 3)]).toEqual([0x00, 0x01, 0x00]);
    const response = encodeMagtekCommandResponse(0, new TextEncoder().encode('21042812D01'));
    const decoded = decodeMagtekCommandResponse(response);
    expect(decoded.ok && new TextDecoder().decode(decoded.data)).toBe('21042812D01');
    expect(decodeMagtekCommandResponse(Uint8Array.of(0, 30, 1))).toMatchObject({
      ok: false,
      reason: 'bad_length',
    });
  });
});
