import { SnapshotServiceService, type SnapshotServiceServer } from '@skiff/proto';
import type { ServiceDeps } from './deps.js';
import { unimplemented } from './unimplemented.js';

/** SnapshotService (being written: uploads into the artifact store). */
export function snapshotService(_deps: ServiceDeps): SnapshotServiceServer {
  return unimplemented(
    SnapshotServiceService,
    'snapshot upload is not available yet',
  ) as unknown as SnapshotServiceServer;
}
