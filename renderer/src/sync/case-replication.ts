/**
 * The case replication client: the generic collection replication (collection-replication.ts)
 * bound to the `cases` collection. Kept for its callers (tests, bench); the app replicates every
 * collection through user-replication.ts.
 */
import type { CaseDoc } from '@emdad/domain';
import {
  startCollectionReplication,
  type CollectionReplication,
  type StartCollectionReplicationOptions,
} from './collection-replication.ts';

export type { ReplicationAuth, ReplicationStatus } from './collection-replication.ts';

export type StartCaseReplicationOptions = StartCollectionReplicationOptions<CaseDoc>;
export type CaseReplication = CollectionReplication<CaseDoc>;

export function startCaseReplication(options: StartCaseReplicationOptions): CaseReplication {
  return startCollectionReplication<CaseDoc>(options);
}
