import { ModelServiceService, type ModelServiceServer } from '@skiff/proto';
import type { ServiceDeps } from './deps.js';
import { unimplemented } from './unimplemented.js';

/** ModelService (being written: uploads into the artifact store). */
export function modelService(_deps: ServiceDeps): ModelServiceServer {
  return unimplemented(
    ModelServiceService,
    'model upload is not available yet',
  ) as unknown as ModelServiceServer;
}
