/** Request schemas of the public tracking routes (zod, the server's edge; see public-tracking.ts). */
import { z } from 'zod';
import { asciiDigits } from './public-tracking.ts';
import { SURVEY_COMMENT_MAX } from './workflow/survey.ts';

const phone4Schema = z
  .string()
  .max(16)
  .transform((v) => asciiDigits(v).replace(/[\s-]/g, ''))
  .pipe(z.string().regex(/^[0-9]{4}$/, 'four digits'));

export const publicTrackRequestSchema = z.object({
  code: z.string().min(1).max(40),
  phone4: phone4Schema,
});
export type PublicTrackRequest = z.input<typeof publicTrackRequestSchema>;

export const publicSurveyRequestSchema = publicTrackRequestSchema.extend({
  score: z.number().int().min(1).max(5),
  comment: z
    .string()
    .max(SURVEY_COMMENT_MAX * 4)
    .nullable()
    .optional()
    .transform((v) => (v && v.trim() ? v.trim() : null)),
});
export type PublicSurveyRequest = z.input<typeof publicSurveyRequestSchema>;
