import { InvalidArgumentError } from '@skiff/errors';
import {
  Environment,
  type EnvironmentServiceServer,
  type RegisteredEnvironment,
} from '@skiff/proto';
import type { EnvironmentRecord } from '@skiff/store';
import {
  completeEnvironment,
  contentDigestOf,
  requireEnvironmentName,
} from '../deployments/environment-reference.js';
import { scopeWorkspace } from '../rpc/context.js';
import { unary } from '../rpc/handlers.js';
import { paginate, pageOffset, pageSize, requireVersion } from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';

const m = (name: string) => `/skiff.v1.EnvironmentService/${name}`;

/** Prefixes v1 kept for Microsoft's curated environments ("Do not start name with …"). */
const RESERVED_PREFIXES = ['azureml', 'microsoft'];

/** Largest definition accepted, as JSON (conda files and Dockerfiles are small text). */
const MAX_DEFINITION_BYTES = 1024 * 1024;

function environmentToProto(record: EnvironmentRecord): RegisteredEnvironment {
  return {
    workspace: record.workspace,
    name: record.name,
    version: record.version,
    definition: Environment.fromJSON(record.definition),
    environmentHash: record.environmentHash,
    createTime: new Date(record.createdAt),
    createdBy: record.createdBy,
  };
}

/**
 * EnvironmentService: named, versioned v1 environment definitions that deployments reference
 * (`inference_config.environment_reference`) instead of carrying one inline.
 */
export function environmentService(deps: ServiceDeps): EnvironmentServiceServer {
  const { store } = deps;

  return {
    registerEnvironment: unary(
      deps,
      { method: m('RegisterEnvironment'), audited: true },
      async (request, context) => {
        const workspace = scopeWorkspace(context, request.workspace);
        const name = requireEnvironmentName(request.name, 'name');
        context.target = `environment/${name}`;
        const reserved = RESERVED_PREFIXES.find((p) => name.toLowerCase().startsWith(p));
        if (reserved) {
          throw new InvalidArgumentError(
            `name: names starting with '${name.slice(0, reserved.length)}' are reserved for curated environments (as in Azure ML v1); choose another`,
            { field: 'name' },
          );
        }
        if (!request.definition) {
          throw new InvalidArgumentError(
            'definition: required, the environment definition (azureml_environment.json or a conda file)',
            { field: 'definition' },
          );
        }
        const size = Buffer.byteLength(JSON.stringify(Environment.toJSON(request.definition)));
        if (size > MAX_DEFINITION_BYTES) {
          throw new InvalidArgumentError(
            `definition: ${size} bytes, at most ${MAX_DEFINITION_BYTES} accepted`,
            { field: 'definition' },
          );
        }
        await store.workspaces.require(workspace);
        // Completed and hashed the way a deployment carrying it inline would be.
        const completed = completeEnvironment(request.definition, 'definition');
        const contentDigest = contentDigestOf(completed.definition);
        const { record, created } = await store.environments.register({
          workspace,
          name,
          // Its version is the registration's; stored as the JSON of the version it becomes.
          definition: Environment.toJSON({ ...completed.definition, name, version: '' }),
          environmentHash: completed.environmentHash,
          contentDigest,
          createdAt: deps.now().toISOString(),
          createdBy: context.caller.principal,
        });
        context.target = `environment/${record.name}/${record.version}`;
        context.log.info(
          { environment: record.name, version: record.version, created },
          created ? 'environment registered' : 'environment unchanged',
        );
        return { environment: withVersion(record), created };
      },
    ),

    getEnvironment: unary(deps, { method: m('GetEnvironment') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = requireEnvironmentName(request.name, 'name');
      const version = requireVersion(request.version, true);
      context.target = `environment/${name}`;
      return {
        environment: withVersion(await store.environments.require(workspace, name, version)),
      };
    }),

    listEnvironments: unary(deps, { method: m('ListEnvironments') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const name = request.name === '' ? undefined : requireEnvironmentName(request.name, 'name');
      const size = pageSize(request.pageSize);
      const offset = pageOffset(request.pageToken);
      // Ordered by name, then version: the latest of a name is the last of its run.
      const all = await store.environments.list(workspace, name);
      const environments = request.latestOnly
        ? all.filter((env, index) => all[index + 1]?.name !== env.name)
        : all;
      const { page, next } = paginate(environments, size, offset);
      return { environments: page.map(withVersion), nextPageToken: next };
    }),
  };
}

/** The record as the API shows it: the definition's `version` is the registered one. */
function withVersion(record: EnvironmentRecord): RegisteredEnvironment {
  const proto = environmentToProto(record);
  if (proto.definition) proto.definition.version = String(record.version);
  return proto;
}
