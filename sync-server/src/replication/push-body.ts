/** The outer shape of a push body (RxDB's push rows), shared by every collection. */
import { PUSH_BATCH_MAX } from '@emdad/domain';
import { z } from 'zod';
import { ApiError } from '../errors.ts';

const wireDocShape = z.looseObject({ id: z.string().min(1).max(64), _deleted: z.boolean() });
export const pushRowShape = z.object({
  newDocumentState: wireDocShape,
  assumedMasterState: wireDocShape.nullable().optional(),
});
export type PushRowInput = z.infer<typeof pushRowShape>;

/** Validates the body's outer shape; rows are checked one by one by the collection's push. */
export function parsePushBody(body: unknown): PushRowInput[] {
  if (!Array.isArray(body))
    throw new ApiError(
      400,
      'bad_request',
      'The push body must be a JSON array of { newDocumentState, assumedMasterState } rows.',
    );
  if (body.length > PUSH_BATCH_MAX)
    throw new ApiError(
      400,
      'bad_request',
      `A push may carry at most ${PUSH_BATCH_MAX} rows; split the batch.`,
    );
  const rows: PushRowInput[] = [];
  for (const [index, raw] of body.entries()) {
    const parsed = pushRowShape.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(
        400,
        'validation_failed',
        `Push row ${index} is not { newDocumentState: { id, _deleted, ... }, assumedMasterState }: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
        { row: index },
      );
    }
    rows.push(parsed.data);
  }
  return rows;
}
