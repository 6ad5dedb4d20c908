/** HTTP API of the sync server (besides replication, see replication.ts). zod at the edges. */
import { z } from 'zod';
import type { Role, UserProfile } from './roles.ts';
import type { CaseDoc } from './case.ts';
import type { WireDoc } from './replication.ts';
import { PUBLIC_TRACKING_ROUTES } from './public-tracking.ts';
import type { SlaTargetTable } from './sla/evaluate.ts';

/**
 * Request header of a push: the device's clock (ms since epoch) when it sent it. The server takes the
 * device's event times within a bound of its own clock and corrects and flags them beyond it
 * (domain/src/sla/skew.ts, sync-server/src/engine).
 */
export const DEVICE_TIME_HEADER = 'x-emdad-device-time';

export const API_ROUTES = {
  health: '/health',
  login: '/api/auth/login',
  refresh: '/api/auth/refresh',
  logout: '/api/auth/logout',
  me: '/api/me',
  reference: '/api/reference',
  caseById: '/api/cases/:id',
  /** The case engine's figures of a case: support hops with their OLA, dwell per status/team/person (routes/case-sla.ts). */
  caseSla: '/api/cases/:id/sla',
  /** A supervisor of the case's team (or an admin) hands it to the next tier now, with a reason (routes/case-escalate.ts). */
  caseEscalate: '/api/cases/:id/escalate',
  replicationPull: '/api/replication/:collection/pull',
  replicationPush: '/api/replication/:collection/push',
  replicationStream: '/api/replication/:collection/stream',
  /** One live stream for several collections (`?collections=a,b`): MultiplexedStreamMessage events. */
  replicationStreamAll: '/api/replication/stream',
  /** Customer 360 (field-api.ts): a device's merged timeline — life cycle, diagnostics runs, cases; scoped like replication. */
  equipmentTimeline: '/api/equipment/:id/timeline',
  /** Customer 360: a merchant's merged timeline — its devices' life cycle there, their diagnostics, its cases. */
  merchantTimeline: '/api/merchants/:id/timeline',
  /** Expense totals of a mission (the expenses the caller may read), in IRR. */
  missionExpenseTotals: '/api/missions/:id/expenses/totals',
  /** A comment from a related unit on a mission (anyone who may read the mission or one of its cases). */
  missionComments: '/api/missions/:id/comments',
  /** Top published articles by cases solved / linked, filtered by templateId, deviceModel, errorCode. */
  knowledgeTop: '/api/knowledge/top',
  /** PUT the bytes of an attachment (keyed by their SHA-256; a repeat is a no-op), GET them back. */
  attachment: '/api/attachments/:sha256',
  /** Admin only: the audit log, filtered by userId / installId / collection / docId / action / from / to, paged by `before`. */
  adminAudit: '/api/admin/audit',
  adminInstalls: '/api/admin/installs',
  /** Admin only: stops the install's access and refresh tokens at once; answers what it had not synced. */
  adminRevokeInstall: '/api/admin/installs/:id/revoke',
  /** Admin only: moves a user to other regions / branch / team; their devices lose what left their scope. */
  adminUserScope: '/api/admin/users/:id/scope',
  /** No sign-in: a case's public view for its tracking code + the reporter's last four phone digits (POST: they are a credential). */
  publicTrack: PUBLIC_TRACKING_ROUTES.track,
  /** No sign-in: the merchant answers the closed case's survey, with the same two proofs. */
  publicTrackSurvey: PUBLIC_TRACKING_ROUTES.survey,
  /** The merchant's tracking page (HTML), served by the sync server. */
  publicTrackPage: PUBLIC_TRACKING_ROUTES.page,
} as const;

export const loginRequestSchema = z.object({
  username: z.string().trim().min(1).max(64),
  password: z.string().min(1).max(256),
  /** The install (a browser profile or an Electron app data dir) signing in; minted by the client. */
  installId: z.string().min(8).max(64),
  installLabel: z.string().max(120).optional(),
});
export type LoginRequest = z.infer<typeof loginRequestSchema>;

export const refreshRequestSchema = z.object({ refreshToken: z.string().min(16).max(512) });
export type RefreshRequest = z.infer<typeof refreshRequestSchema>;

export interface AuthSession {
  accessToken: string;
  /** ISO time the access token stops being accepted. */
  accessTokenExpiresAt: string;
  refreshToken: string;
  user: UserProfile;
  install: { id: string; trackingPrefix: string };
}

export interface LocalizedName {
  fa: string;
  en: string;
}

export interface CaseTemplateRef {
  id: string;
  code: string;
  name: LocalizedName;
  category: string;
  defaultPriority: 'low' | 'normal' | 'high' | 'urgent';
  team: string;
  /** The tier the case starts in (L1 field or help desk, L2 specialists, L3, or the product team). */
  tier: 'L1' | 'L2' | 'L3' | 'product';
}
export interface BranchRef {
  id: string;
  code: string;
  name: LocalizedName;
  regionId: string;
}
export interface MerchantRef {
  id: string;
  name: LocalizedName;
  branchId: string;
  regionId: string;
  phone: string;
  tier: 'standard' | 'gold' | 'platinum';
}
export interface EquipmentRef {
  id: string;
  merchantId: string;
  kind: 'pos' | 'pinpad' | 'atm' | 'ipg';
  serial: string;
  model: string;
  vendor: string;
  terminalId: string;
  firmware: string;
}

/** What a client caches for offline use: the data a create-case form needs. */
export interface ReferenceData {
  templates: CaseTemplateRef[];
  branches: BranchRef[];
  merchants: MerchantRef[];
  equipment: EquipmentRef[];
  /**
   * The rules the server's case engine counts by, so a client computes the same provisional SLA
   * offline (domain/src/sla/case-input.ts) and warns of the same duplicates. Absent from servers
   * before it was added and from a cached copy fetched from one: the client then shows no
   * provisional time and uses the default duplicate window.
   */
  sla?: ReferenceSla;
}

export interface ReferenceSla {
  targets: SlaTargetTable;
  /** The calendar of a case whose region has none of its own. */
  defaultCalendarId: string;
  duplicateWindowMs: number;
}

/** Body of `POST /api/cases/:id/escalate`: why the case goes to the next tier of the ladder. */
export const caseEscalationRequestSchema = z.object({
  reason: z.string().trim().min(3).max(1000),
  /** The tier the caller saw the case in: if it has moved since, the request is refused (no double hop). */
  fromTier: z.enum(['L1', 'L2', 'L3', 'product']).optional(),
});
export type CaseEscalationRequest = z.infer<typeof caseEscalationRequestSchema>;

export interface CaseEscalationResponse {
  caseId: string;
  fromTier: 'L1' | 'L2' | 'L3' | 'product';
  toTier: 'L1' | 'L2' | 'L3' | 'product';
  teamId: string | null;
  assigneeId: string | null;
  /** The case after the move, or null when it left the caller's scope with it. */
  case: WireDoc<CaseDoc> | null;
}

export type { Role };
