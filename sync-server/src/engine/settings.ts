/**
 * Settings of the case engine (SLA, routing, escalation, duplicates, notifications). Defaults are
 * the product's; `createSyncServer({ engine })` and tests override them.
 */
import { DEFAULT_SKEW_BOUND_MS } from '@emdad/domain/sla/skew';
import type { SlaTargetTable, SupportTier } from '@emdad/domain/sla/evaluate';
import { DEFAULT_DUPLICATE_WINDOW_MS } from '@emdad/domain/workflow/duplicates';
import type { ReferenceSla } from '@emdad/domain';
import { DEFAULT_CALENDAR_ID, slaTargetTable } from '@emdad/fixtures/sla';

export interface EngineSettings {
  /** Interval of the SLA timer in ms; false: no timer (call `tick()` yourself). */
  slaTickMs: number | false;
  /** Device clock skew accepted as is; beyond it event times are corrected and flagged. */
  skewBoundMs: number;
  /** A new case for a device with an open case of the same template opened within this window is flagged. */
  duplicateWindowMs: number;
  /** Open cases per person above which routing passes them over. */
  defaultCapacity: number;
  /** The team that takes a case escalated to each tier above L1 (re-routed round-robin within it). */
  tierTeams: Partial<Record<SupportTier, string>>;
  /** SLA targets, warning share, escalation policy and each hop's OLA. */
  targets: SlaTargetTable;
  /** Cases per engine transaction on the timer (bounds how long the cases lock is held). */
  batchSize: number;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = {
  slaTickMs: 60_000,
  skewBoundMs: DEFAULT_SKEW_BOUND_MS,
  duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
  defaultCapacity: 15,
  // The demo organisation (fixtures/README.md): L2 central support, L3 specialists, the product team.
  tierTeams: { L2: 'team-central-support', L3: 'team-l3-specialists', product: 'team-product' },
  targets: slaTargetTable,
  batchSize: 100,
};

export function engineSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
  return { ...DEFAULT_ENGINE_SETTINGS, ...overrides };
}

/** What clients get of these settings with the reference data (GET /api/reference). */
export function referenceSla(settings: EngineSettings): ReferenceSla {
  return {
    targets: settings.targets,
    defaultCalendarId: DEFAULT_CALENDAR_ID,
    duplicateWindowMs: settings.duplicateWindowMs,
  };
}
