/**
 * HTTP answers of the field workflows (issue 5, parts 4–6): the customer-360 timelines of a device
 * and of a merchant, a mission's expense totals, mission comments and the top knowledge articles.
 * Paths are in api.ts (`API_ROUTES`); the server's routes are sync-server/src/routes/field.ts.
 */
import { z } from 'zod';
import type { CaseEventDoc } from './model/case-events.ts';
import type { DiagnosticOutcome } from './model/diagnostics.ts';
import type { EquipmentHistoryEntry } from './model/equipment.ts';
import type { ArticleType } from './workflow/knowledge.ts';
import type { EquipmentEvent } from './workflow/equipment.ts';
import type { MissionExpenseTotals } from './workflow/expense.ts';

/** One entry of a timeline: an equipment event (workflow/equipment.ts) with what it came from. */
export interface TimelineEntry extends EquipmentEvent {
  /** The device's serial (null for a case without a device). */
  serial: string | null;
  /** Life-cycle entries. */
  fromStatus?: EquipmentHistoryEntry['fromStatus'];
  toStatus?: EquipmentHistoryEntry['toStatus'];
  byUserId?: string | null;
  /** Diagnostics runs. */
  diagnosticId?: string;
  outcome?: DiagnosticOutcome;
  technicianId?: string;
  /** Cases. */
  trackingCode?: string;
  subject?: string;
  caseStatus?: string;
  templateId?: string;
}

export interface TimelineResponse {
  /** Oldest first (time, then id); at most `limit` — the most recent ones. */
  entries: TimelineEntry[];
  /** True when older entries were left out. */
  truncated: boolean;
}

export const timelineQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(2000).default(500),
});

/** A diagnostics run's outcome as the verdict on the device's history. */
export function verdictOf(outcome: DiagnosticOutcome): 'pass' | 'fail' | 'warning' {
  if (outcome === 'passed') return 'pass';
  if (outcome === 'failed' || outcome === 'error') return 'fail';
  return 'warning';
}

export interface MissionExpenseTotalsResponse extends MissionExpenseTotals {
  missionId: string;
  currency: 'IRR';
  /** Expenses counted (those of the mission the caller may read). */
  count: number;
}

export const missionCommentRequestSchema = z.object({
  /** Client-minted id: a retried request with the same id adds the comment once. */
  id: z.string().min(8).max(64).optional(),
  text: z.string().trim().min(1).max(2000),
});
export type MissionCommentRequest = z.infer<typeof missionCommentRequestSchema>;

export const knowledgeTopQuerySchema = z.object({
  templateId: z.string().min(1).max(64).optional(),
  deviceModel: z.string().min(1).max(120).optional(),
  errorCode: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(5),
});

export interface TopArticle {
  /** The article (all versions share it). */
  articleId: string;
  /** Cases the article solved, and cases it was linked to, among those matching the filters. */
  solved: number;
  linked: number;
  /** The published version to open. */
  current: { id: string; version: number; type: ArticleType; title: { fa: string; en: string } };
}

/**
 * "Solved by": an `article_link` timeline entry that records the article as the case's resolution
 * carries `toStatus: 'resolved'`; any other `article_link` is a reference consulted.
 */
export function isSolvedByLink(event: Pick<CaseEventDoc, 'kind' | 'toStatus'>): boolean {
  return event.kind === 'article_link' && event.toStatus === 'resolved';
}
