import { InvalidArgumentError } from '@skiff/errors';
import type { WebserviceSpec } from '@skiff/proto';

const camel = (segment: string) => segment.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Copies the fields named by `paths` (proto field names relative to the spec, e.g.
 * `models`, `deployment_config.auto_scaler.max_replicas`) from `patch` into a copy of
 * `current`. An unknown path is INVALID_ARGUMENT naming it.
 */
export function applyFieldMask(
  current: WebserviceSpec,
  patch: WebserviceSpec,
  paths: readonly string[],
): WebserviceSpec {
  const result = structuredClone(current) as unknown as Record<string, unknown>;
  const source = patch as unknown as Record<string, unknown>;
  for (const path of paths) {
    const segments = path.split('.').map(camel);
    let into: Record<string, unknown> = result;
    let from: Record<string, unknown> | undefined = source;
    for (const [index, segment] of segments.entries()) {
      if (!(segment in into) && !(from && segment in from)) {
        throw new InvalidArgumentError(
          `update_mask: unknown field '${path}' of the webservice spec`,
          { field: 'update_mask' },
        );
      }
      if (index === segments.length - 1) {
        const value = from?.[segment];
        if (value === undefined) delete into[segment];
        else into[segment] = structuredClone(value);
        break;
      }
      const next = into[segment];
      if (typeof next !== 'object' || next === null) into[segment] = {};
      into = into[segment] as Record<string, unknown>;
      const nextFrom: unknown = from?.[segment];
      from =
        typeof nextFrom === 'object' && nextFrom !== null
          ? (nextFrom as Record<string, unknown>)
          : undefined;
    }
  }
  return result as unknown as WebserviceSpec;
}
