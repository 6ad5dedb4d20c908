import { describe, expect, it } from 'vitest';
import { CASE_STATUSES, allowedCaseTransitions, transitionCase } from './case-state.ts';

describe('case state machine', () => {
  it('accepts the normal life of a case', () => {
    const path = [
      'new',
      'triaged',
      'in_progress',
      'pending_customer',
      'in_progress',
      'resolved',
      'closed',
      'reopened',
      'resolved',
    ];
    for (let i = 1; i < path.length; i++)
      expect(transitionCase(path[i - 1]!, path[i]!)).toMatchObject({ ok: true });
  });

  it('refuses moves out of a closed case except reopening, with the allowed list', () => {
    const result = transitionCase('closed', 'in_progress');
    expect(result).toEqual({
      ok: false,
      from: 'closed',
      to: 'in_progress',
      reason: 'not_allowed',
      allowed: ['reopened'],
    });
  });

  it('refuses unknown statuses and no-op moves', () => {
    expect(transitionCase('new', 'teleported')).toMatchObject({ ok: false, reason: 'unknown_status' });
    expect(transitionCase('new', 'new')).toMatchObject({ ok: false, reason: 'same_status' });
  });

  it('every status can reach closed, and nothing reaches new again', () => {
    for (const status of CASE_STATUSES) {
      const seen = new Set([status]);
      const queue = [status];
      while (queue.length) {
        for (const next of allowedCaseTransitions(queue.shift()!)) {
          if (seen.has(next)) continue;
          seen.add(next);
          queue.push(next);
        }
      }
      expect(seen.has('closed'), status).toBe(true);
      if (status !== 'new') expect(seen.has('new'), status).toBe(false);
    }
  });
});
