/**
 * Who may read which case (minimal scope; issue 4 refines it): supervisors and admins see all
 * cases; a technician sees the cases they created or are assigned to; branch staff see their
 * branch's cases and the ones they created. Applied on pull, stream, push and GET /api/cases/:id.
 */
import type { CaseDoc, UserProfile } from '@emdad/domain';

export type ScopeUser = Pick<UserProfile, 'id' | 'role' | 'branchId'>;

/** A SQL condition over the `cases` table; its parameters are appended after `firstParam - 1` others. */
export function caseScopeSql(user: ScopeUser, firstParam: number): { sql: string; params: unknown[] } {
  switch (user.role) {
    case 'supervisor':
    case 'admin':
      return { sql: 'TRUE', params: [] };
    case 'technician':
      return { sql: `(created_by = $${firstParam} OR assignee_id = $${firstParam})`, params: [user.id] };
    case 'branch_staff':
      return user.branchId
        ? {
            sql: `(created_by = $${firstParam} OR branch_id = $${firstParam + 1})`,
            params: [user.id, user.branchId],
          }
        : { sql: `created_by = $${firstParam}`, params: [user.id] };
    default:
      return { sql: 'FALSE', params: [] };
  }
}

export function canReadCase(
  user: ScopeUser,
  doc: Pick<CaseDoc, 'createdBy' | 'assigneeId' | 'branchId'>,
): boolean {
  switch (user.role) {
    case 'supervisor':
    case 'admin':
      return true;
    case 'technician':
      return doc.createdBy === user.id || doc.assigneeId === user.id;
    case 'branch_staff':
      return doc.createdBy === user.id || (user.branchId !== null && doc.branchId === user.branchId);
    default:
      return false;
  }
}
