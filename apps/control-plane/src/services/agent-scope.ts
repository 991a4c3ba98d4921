import { PermissionDeniedError } from '@skiff/errors';
import { scopeWorkspace, type RequestContext } from '../rpc/context.js';
import { requireDnsLabel } from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';

/**
 * The compute target an agent credential acts for (agents and routers of a compute target
 * use such credentials). Any other credential is PERMISSION_DENIED.
 */
export async function credentialCompute(
  deps: Pick<ServiceDeps, 'store'>,
  context: RequestContext,
): Promise<string> {
  const record = await deps.store.credentials.get(context.caller.principal);
  if (!record?.compute) {
    throw new PermissionDeniedError(
      'only agent credentials bound to a compute target may call this',
    );
  }
  return record.compute;
}

/**
 * The caller's workspace and the compute target it names, checked to exist and to be the one
 * the credential is bound to.
 */
export async function boundCompute(
  deps: Pick<ServiceDeps, 'store'>,
  context: RequestContext,
  workspace: string,
  compute: string,
): Promise<{ workspace: string; compute: string }> {
  const ws = scopeWorkspace(context, workspace);
  const name = requireDnsLabel(compute, 'compute', 2, 16);
  await deps.store.computes.require(ws, name);
  const own = await credentialCompute(deps, context);
  if (own !== name) {
    throw new PermissionDeniedError(
      `this credential acts for compute target '${own}', not '${name}'`,
      { field: 'compute' },
    );
  }
  return { workspace: ws, compute: name };
}
