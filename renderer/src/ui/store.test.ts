import { beforeEach, describe, expect, it } from 'vitest';
import { ERROR_SENTENCES } from '@emdad/domain';
import { REFUSALS_KEPT, refusalSentence, useUiStore } from './store.ts';

describe('refused writes in the UI store', () => {
  beforeEach(() => useUiStore.getState().resetSync());

  it('keeps each refused row with its collection, replacing an older refusal of the same record', () => {
    const { addRefused } = useUiStore.getState();
    addRefused('expenses', [{ id: 'exp-1', code: 'approval_field', message: 'm1' }]);
    addRefused('cases', [{ id: 'exp-1', code: 'forbidden', message: 'same id, other collection' }]);
    addRefused('expenses', [{ id: 'exp-1', code: 'validation_failed', message: 'm2' }]);
    expect(useUiStore.getState().refused).toEqual([
      { collection: 'cases', id: 'exp-1', code: 'forbidden', message: 'same id, other collection' },
      { collection: 'expenses', id: 'exp-1', code: 'validation_failed', message: 'm2' },
    ]);
    useUiStore.getState().dismissRefused('expenses', 'exp-1');
    expect(useUiStore.getState().refused.map((r) => r.collection)).toEqual(['cases']);
  });

  it('keeps only the newest refusals', () => {
    const rows = Array.from({ length: REFUSALS_KEPT + 5 }, (_, i) => ({
      id: `exp-${i}`,
      code: 'forbidden' as const,
      message: 'no',
    }));
    useUiStore.getState().addRefused('expenses', rows);
    const kept = useUiStore.getState().refused;
    expect(kept).toHaveLength(REFUSALS_KEPT);
    expect(kept.at(-1)?.id).toBe(`exp-${REFUSALS_KEPT + 4}`);
  });
});

describe('refusalSentence', () => {
  it('shows the server’s own sentence in the user’s language first', () => {
    const row = {
      id: 'exp-1',
      code: 'invalid_transition' as const,
      message: 'raw',
      sentence: { fa: 'هزینهٔ تأییدشده را نمی‌توان ویرایش کرد.', en: 'An approved expense cannot be edited.' },
    };
    expect(refusalSentence(row, 'fa')).toBe('هزینهٔ تأییدشده را نمی‌توان ویرایش کرد.');
    expect(refusalSentence(row, 'en')).toBe('An approved expense cannot be edited.');
  });

  it('falls back to the error code’s sentence, then to the server’s message', () => {
    expect(refusalSentence({ id: 'x', code: 'approval_field', message: 'raw' }, 'fa')).toBe(
      ERROR_SENTENCES.approval_field.fa,
    );
    expect(
      refusalSentence(
        { id: 'x', code: 'a_code_from_a_newer_server' as never, message: 'Ask the office.' },
        'en',
      ),
    ).toBe('Ask the office.');
  });
});
