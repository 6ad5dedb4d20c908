/**
 * A small, pure state-machine helper in the style of `case-state.ts`: a table of allowed moves
 * plus a guard that checks the move against its context (who does it, with what data) and
 * answers with a reason when it refuses. Every reason has a sentence in Persian and English
 * that tells the user what to do next.
 */

export type LocalizedSentence = { fa: string; en: string };

export type BaseRefusal = 'unknown_state' | 'same_state' | 'not_allowed';

export type MoveResult<S extends string, R extends string> =
  | { ok: true; from: S; to: S }
  | {
      ok: false;
      from: string;
      to: string;
      reason: R | BaseRefusal;
      allowed: readonly S[];
      message: LocalizedSentence;
    };

export interface MachineSpec<S extends string, C, R extends string> {
  name: string;
  states: readonly S[];
  transitions: Readonly<Record<S, readonly S[]>>;
  /** Returns a refusal reason, or null when the move is fine in this context. */
  guard?: (from: S, to: S, context: C) => R | null;
  sentences: Readonly<Record<R, LocalizedSentence>>;
}

export const BASE_SENTENCES: Readonly<Record<BaseRefusal, LocalizedSentence>> = {
  unknown_state: {
    en: 'This status is not known to this version of the app. Update the app and try again.',
    fa: 'این وضعیت برای این نسخه از برنامه شناخته‌شده نیست. برنامه را به‌روز کنید و دوباره تلاش کنید.',
  },
  same_state: {
    en: 'The record already has this status. Choose a different status.',
    fa: 'این مورد هم‌اکنون در همین وضعیت است. وضعیت دیگری انتخاب کنید.',
  },
  not_allowed: {
    en: 'This status change is not allowed from the current status. Choose one of the allowed statuses.',
    fa: 'این تغییر وضعیت از وضعیت فعلی مجاز نیست. یکی از وضعیت‌های مجاز را انتخاب کنید.',
  },
};

export interface Machine<S extends string, C, R extends string> {
  name: string;
  states: readonly S[];
  isState(value: unknown): value is S;
  allowed(from: S): readonly S[];
  /** States with no way out. */
  finalStates: readonly S[];
  transition(from: string, to: string, context: C): MoveResult<S, R>;
  sentence(reason: R | BaseRefusal): LocalizedSentence;
}

export function defineMachine<S extends string, C, R extends string>(
  spec: MachineSpec<S, C, R>,
): Machine<S, C, R> {
  const isState = (value: unknown): value is S =>
    typeof value === 'string' && (spec.states as readonly string[]).includes(value);
  const sentence = (reason: R | BaseRefusal): LocalizedSentence =>
    (BASE_SENTENCES as Record<string, LocalizedSentence>)[reason] ??
    (spec.sentences as Record<string, LocalizedSentence>)[reason]!;
  const refuse = (
    from: string,
    to: string,
    reason: R | BaseRefusal,
    allowed: readonly S[],
  ): MoveResult<S, R> => ({
    ok: false,
    from,
    to,
    reason,
    allowed,
    message: sentence(reason),
  });
  return {
    name: spec.name,
    states: spec.states,
    isState,
    allowed: (from) => spec.transitions[from],
    finalStates: spec.states.filter((s) => spec.transitions[s].length === 0),
    sentence,
    transition(from, to, context) {
      if (!isState(from) || !isState(to))
        return refuse(from, to, 'unknown_state', isState(from) ? spec.transitions[from] : []);
      const allowed = spec.transitions[from];
      if (from === to) return refuse(from, to, 'same_state', allowed);
      if (!allowed.includes(to)) return refuse(from, to, 'not_allowed', allowed);
      const reason = spec.guard?.(from, to, context) ?? null;
      if (reason) return refuse(from, to, reason, allowed);
      return { ok: true, from, to };
    },
  };
}
