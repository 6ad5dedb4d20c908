/**
 * Missions (field visits): a mission names the place, the time window, the related cases or
 * order and the assignee; once approved it is issued to the technician as an order.
 *
 *   draft → issued → in_progress → completed | completed_needs_revisit
 *   issued → draft                        (recalled before work started)
 *   completed_needs_revisit → issued      (the revisit is issued again)
 *   completed_needs_revisit → completed   (the revisit turned out unnecessary)
 *   completed is final.
 */
import { defineMachine, type MoveResult } from './machine.ts';

export const MISSION_STATUSES = [
  'draft',
  'issued',
  'in_progress',
  'completed_needs_revisit',
  'completed',
] as const;
export type MissionStatus = (typeof MISSION_STATUSES)[number];

export type MissionRefusal =
  | 'missing_assignee'
  | 'missing_place'
  | 'missing_cases'
  | 'bad_time_window'
  | 'needs_approval'
  | 'self_approval'
  | 'not_assignee'
  | 'missing_report'
  | 'missing_revisit_reason';

/** What the guards need to know about the mission and the person moving it. */
export interface MissionContext {
  actorId: string;
  createdBy: string;
  assigneeId: string | null;
  place: string | null;
  caseIds: readonly string[];
  orderId?: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  /** The supervisor who approved the mission order, if any. */
  approvedBy: string | null;
  /** Service activities recorded in the mission report. */
  reportActivityCount: number;
  revisitReason?: string | null;
}

const blank = (s: string | null | undefined) => !s || !s.trim();

export const missionMachine = defineMachine<MissionStatus, MissionContext, MissionRefusal>({
  name: 'mission',
  states: MISSION_STATUSES,
  transitions: {
    draft: ['issued'],
    issued: ['in_progress', 'draft'],
    in_progress: ['completed_needs_revisit', 'completed'],
    completed_needs_revisit: ['issued', 'completed'],
    completed: [],
  },
  guard(from, to, c) {
    if (to === 'issued') {
      if (blank(c.assigneeId)) return 'missing_assignee';
      if (blank(c.place)) return 'missing_place';
      if (c.caseIds.length === 0 && blank(c.orderId)) return 'missing_cases';
      const start = c.windowStart ? Date.parse(c.windowStart) : NaN;
      const end = c.windowEnd ? Date.parse(c.windowEnd) : NaN;
      if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) return 'bad_time_window';
      if (blank(c.approvedBy)) return 'needs_approval';
      if (c.approvedBy === c.createdBy) return 'self_approval';
    }
    if (from === 'issued' && to === 'in_progress' && c.actorId !== c.assigneeId) return 'not_assignee';
    if (from === 'in_progress' && (to === 'completed' || to === 'completed_needs_revisit')) {
      if (c.actorId !== c.assigneeId) return 'not_assignee';
      if (c.reportActivityCount < 1) return 'missing_report';
      if (to === 'completed_needs_revisit' && blank(c.revisitReason)) return 'missing_revisit_reason';
    }
    if (from === 'completed_needs_revisit' && to === 'completed' && c.reportActivityCount < 1)
      return 'missing_report';
    return null;
  },
  sentences: {
    missing_assignee: {
      en: 'Choose the technician who will do this mission.',
      fa: 'تکنسین انجام‌دهندهٔ این مأموریت را انتخاب کنید.',
    },
    missing_place: { en: 'Enter where the mission takes place.', fa: 'محل انجام مأموریت را وارد کنید.' },
    missing_cases: {
      en: 'Link at least one case or an order to the mission.',
      fa: 'دست‌کم یک درخواست یا یک سفارش را به مأموریت پیوند دهید.',
    },
    bad_time_window: {
      en: 'Set a time window whose end is after its start.',
      fa: 'بازهٔ زمانی‌ای تعیین کنید که پایان آن بعد از شروعش باشد.',
    },
    needs_approval: {
      en: 'A supervisor must approve the mission before it is issued. Send it for approval.',
      fa: 'پیش از صدور، سرپرست باید مأموریت را تأیید کند. آن را برای تأیید بفرستید.',
    },
    self_approval: {
      en: 'You cannot approve a mission you created. Ask another supervisor.',
      fa: 'نمی‌توانید مأموریتی را که خودتان ایجاد کرده‌اید تأیید کنید. از سرپرست دیگری بخواهید.',
    },
    not_assignee: {
      en: 'Only the assigned technician can start or finish this mission.',
      fa: 'فقط تکنسین مسئول می‌تواند این مأموریت را شروع یا تمام کند.',
    },
    missing_report: {
      en: 'Record at least one service activity in the mission report first.',
      fa: 'ابتدا دست‌کم یک فعالیت خدماتی در گزارش مأموریت ثبت کنید.',
    },
    missing_revisit_reason: {
      en: 'Say why another visit is needed.',
      fa: 'دلیل نیاز به مراجعهٔ دوباره را بنویسید.',
    },
  },
});

export function transitionMission(
  from: string,
  to: string,
  context: MissionContext,
): MoveResult<MissionStatus, MissionRefusal> {
  return missionMachine.transition(from, to, context);
}

/** A comment on a mission from a related unit (warehouse, finance, the branch). */
export interface MissionComment {
  id: string;
  missionId: string;
  authorId: string;
  unit: string;
  text: string;
  at: string;
}
