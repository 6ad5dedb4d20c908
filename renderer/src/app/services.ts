/** The long-lived objects of the app, handed down through React context. */
import { createContext, useContext } from 'react';
import type { AuthService, SessionState } from '../auth/auth-service.ts';
import type { DeviceDatabase, UserDatabase } from '../db/database.ts';
import type { DeviceConnection } from '../device/device-client.ts';
import type { UserReplication } from '../sync/user-replication.ts';
import type { ReferenceData } from '@emdad/domain';

export interface AppServices {
  deviceDb: DeviceDatabase;
  auth: AuthService;
  serverUrl: string;
  device: DeviceConnection;
}

export interface UserContextValue {
  session: SessionState;
  userDb: UserDatabase;
  /** Every collection's replication (null in an offline session). */
  replication: UserReplication | null;
  reference: ReferenceData | null;
}

export const ServicesContext = createContext<AppServices | null>(null);
export const UserContext = createContext<UserContextValue | null>(null);

export function useServices(): AppServices {
  const value = useContext(ServicesContext);
  if (!value) throw new Error('ServicesContext missing');
  return value;
}

export function useUser(): UserContextValue {
  const value = useContext(UserContext);
  if (!value) throw new Error('UserContext missing');
  return value;
}
