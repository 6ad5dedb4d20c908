import { describe, expect, it } from 'vitest';
import { CASE_STATUSES } from './case-state.ts';
import {
  asciiDigits,
  lastFourDigits,
  PUBLIC_STATUS_LABELS,
  PUBLIC_TRACKING_SENTENCES,
} from './public-tracking.ts';
import { publicSurveyRequestSchema, publicTrackRequestSchema } from './public-tracking-api.ts';

describe('public tracking helpers', () => {
  it('reads Persian and Arabic digits and keeps only the last four digits of a phone', () => {
    expect(asciiDigits('۰۹۱۲ ٤٥٦٧')).toBe('0912 4567');
    expect(lastFourDigits('+98 912 123 4567')).toBe('4567');
    expect(lastFourDigits('۰۹۱۲۱۲۳۴۵۶۷')).toBe('4567');
  });

  it('accepts four digits in any script, nothing else', () => {
    expect(publicTrackRequestSchema.parse({ code: 'x', phone4: '۴۵۶۷' }).phone4).toBe('4567');
    expect(publicTrackRequestSchema.safeParse({ code: 'x', phone4: '456' }).success).toBe(false);
    expect(publicTrackRequestSchema.safeParse({ code: 'x', phone4: '45678' }).success).toBe(false);
    expect(publicTrackRequestSchema.safeParse({ code: '', phone4: '4567' }).success).toBe(false);
    const survey = publicSurveyRequestSchema.parse({ code: 'x', phone4: '4567', score: 2, comment: '  ' });
    expect(survey.comment).toBeNull();
    expect(publicSurveyRequestSchema.safeParse({ code: 'x', phone4: '4567', score: 6 }).success).toBe(false);
  });

  it('has a Persian and an English label for every status and every sentence', () => {
    for (const status of CASE_STATUSES) {
      expect(PUBLIC_STATUS_LABELS[status].fa).toMatch(/\S/);
      expect(PUBLIC_STATUS_LABELS[status].en).toMatch(/\S/);
    }
    for (const sentence of Object.values(PUBLIC_TRACKING_SENTENCES)) {
      expect(sentence.fa).toMatch(/[\u0600-\u06FF]/);
      expect(sentence.en).toMatch(/[A-Za-z]/);
    }
  });
});
