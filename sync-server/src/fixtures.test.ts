// The fixtures package has no vitest project of its own; its consistency checks run with the server that seeds from it.
import { CASE_PRIORITIES, ROLES } from '@emdad/domain';
import { describe, expect, it } from 'vitest';
import {
  BRANCH_IDS,
  EQUIPMENT_IDS,
  MERCHANT_IDS,
  TEMPLATE_IDS,
  USER_IDS,
  branches,
  caseTemplates,
  demoUsers,
  equipment,
  kbArticles,
  merchants,
  regions,
  teams,
  TEAM_IDS,
} from '@emdad/fixtures';
import { validateCollectionDocument } from '@emdad/domain/validate';

const hasBothNames = (n: { fa: string; en: string }) =>
  /[\u0600-\u06FF]/.test(n.fa) && /^[\x20-\x7E]+$/.test(n.en);

describe('demo fixtures', () => {
  it('has a user for every role, with Persian and English names and unique usernames', () => {
    for (const role of ROLES) expect(demoUsers.some((u) => u.role === role)).toBe(true);
    expect(new Set(demoUsers.map((u) => u.username)).size).toBe(demoUsers.length);
    for (const u of demoUsers) expect(hasBothNames(u.displayName)).toBe(true);
    for (const u of demoUsers.filter((x) => x.role === 'branch_staff'))
      expect(branches.map((b) => b.id)).toContain(u.branchId);
  });

  it('has 2 branches, 20 merchants with 1-2 terminals each, and 11 templates (10 + the survey call-back), all consistent', () => {
    expect(branches).toHaveLength(2);
    expect(merchants).toHaveLength(20);
    expect(caseTemplates).toHaveLength(11);
    const regionIds = regions.map((r) => r.id);
    for (const b of branches) expect(regionIds).toContain(b.regionId);
    for (const m of merchants) {
      expect(hasBothNames(m.name)).toBe(true);
      expect(m.phone).toMatch(/^0[0-9]{10}$/);
      const own = equipment.filter((e) => e.merchantId === m.id);
      expect(own.length).toBeGreaterThanOrEqual(1);
      expect(own.length).toBeLessThanOrEqual(2);
    }
    for (const e of equipment) {
      expect(e.terminalId).toMatch(/^[0-9]{8}$/);
      expect(['pos', 'pinpad']).toContain(e.kind);
    }
    expect(new Set(equipment.map((e) => e.serial)).size).toBe(equipment.length);
    for (const t of caseTemplates) {
      expect(hasBothNames(t.name)).toBe(true);
      expect(CASE_PRIORITIES).toContain(t.defaultPriority);
    }
  });

  it('exports ids that exist in the data', () => {
    for (const id of Object.values(USER_IDS)) expect(demoUsers.map((u) => u.id)).toContain(id);
    for (const id of Object.values(BRANCH_IDS)) expect(branches.map((b) => b.id)).toContain(id);
    for (const id of Object.values(TEMPLATE_IDS)) expect(caseTemplates.map((t) => t.id)).toContain(id);
    for (const id of Object.values(MERCHANT_IDS)) expect(merchants.map((m) => m.id)).toContain(id);
    for (const id of Object.values(EQUIPMENT_IDS)) expect(equipment.map((e) => e.id)).toContain(id);
  });

  it('has teams led by supervisors, covering known regions, naming every technician', () => {
    for (const id of Object.values(TEAM_IDS)) expect(teams.map((t) => t.id)).toContain(id);
    const regionIds = regions.map((r) => r.id);
    for (const t of teams) {
      expect(hasBothNames(t.name)).toBe(true);
      expect(demoUsers.find((u) => u.id === t.supervisorId)?.role).toBe('supervisor');
      for (const r of t.regionIds) expect(regionIds).toContain(r);
    }
    for (const u of demoUsers.filter((x) => x.teamId !== null))
      expect(teams.map((t) => t.id)).toContain(u.teamId);
  });

  it('names only teams that exist and have people to route to in every case template', () => {
    for (const t of caseTemplates) {
      expect(
        teams.map((team) => team.id),
        t.code,
      ).toContain(t.team);
      expect(
        demoUsers.some((u) => u.teamId === t.team && u.role === 'technician'),
        `${t.code}: nobody in ${t.team}`,
      ).toBe(true);
    }
  });

  it('has knowledge articles that match the kb_articles schema, some published and a draft', () => {
    for (const a of kbArticles) expect(validateCollectionDocument('kb_articles', a)).toEqual({ ok: true });
    expect(kbArticles.some((a) => a.status === 'published')).toBe(true);
    expect(kbArticles.some((a) => a.status !== 'published')).toBe(true);
  });
});
