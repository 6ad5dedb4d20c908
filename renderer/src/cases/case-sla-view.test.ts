import { describe, expect, it } from 'vitest';
import type { CaseSla, CaseSlaTarget } from '@emdad/domain';
import { slaSummary } from './case-list-view.ts';

const target = (state: CaseSlaTarget['state'], dueAt: string | null): CaseSlaTarget => ({
  state,
  targetMinutes: 60,
  dueAt,
  warningAt: null,
  breachedAt: null,
  metAt: null,
  remainingMinutes: null,
});

describe('slaSummary (the SLA cell of the case list)', () => {
  it('shows nothing computed before the server evaluated the case', () => {
    expect(slaSummary(null)).toEqual({ state: 'none', dueAt: null });
    expect(slaSummary(undefined)).toEqual({ state: 'none', dueAt: null });
  });

  it('shows the next due time among the targets still running', () => {
    const sla: CaseSla = {
      state: 'warning',
      firstResponseDueAt: '2026-11-23T09:00:00.000Z',
      updateDueAt: '2026-11-23T12:00:00.000Z',
      resolutionDueAt: '2026-11-24T09:00:00.000Z',
      paused: false,
      targets: {
        firstResponse: target('met', '2026-11-23T09:00:00.000Z'),
        update: target('warning', '2026-11-23T12:00:00.000Z'),
        resolution: target('on_track', '2026-11-24T09:00:00.000Z'),
      },
    };
    expect(slaSummary(sla)).toEqual({ state: 'warning', dueAt: '2026-11-23T12:00:00.000Z' });
  });

  it('shows a paused clock without a due time, and a v0 sla by its two due times', () => {
    expect(
      slaSummary({ state: 'paused', firstResponseDueAt: null, resolutionDueAt: null, paused: true }),
    ).toEqual({ state: 'paused', dueAt: null });
    expect(
      slaSummary({
        state: 'breached',
        firstResponseDueAt: '2026-11-23T09:00:00.000Z',
        resolutionDueAt: '2026-11-22T09:00:00.000Z',
      }),
    ).toEqual({ state: 'breached', dueAt: '2026-11-22T09:00:00.000Z' });
  });
});
