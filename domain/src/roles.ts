export const ROLES = ['technician', 'branch_staff', 'supervisor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UserProfile {
  id: string;
  username: string;
  displayName: { fa: string; en: string };
  role: Role;
  branchId: string | null;
  regionIds: string[];
  teamId: string | null;
}
