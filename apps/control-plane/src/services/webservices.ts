import {
  issueServiceToken,
  regenerateServiceKey,
  revealServiceKeys,
  type KeySlot,
} from '@skiff/auth';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@skiff/errors';
import {
  DeploymentEvent,
  DeploymentStep,
  KeyType,
  WebserviceSpec,
  type LogLine,
  type WebserviceServiceServer,
} from '@skiff/proto';
import type { LogLineRecord, ServiceRecord } from '@skiff/store';
import { Deployer } from '../deployments/deployer.js';
import { logTopic, servicesTopic, serviceTopic } from '../deployments/events.js';
import { webserviceToProto, type ObservedLoad } from '../deployments/webservice-view.js';
import { scopeWorkspace, type RequestContext } from '../rpc/context.js';
import { serverStream, unary } from '../rpc/handlers.js';
import {
  paginate,
  pageOffset,
  pageSize,
  requireServiceName,
  streamPosition,
} from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';
import { follow } from './follow.js';
import { applyFieldMask } from './field-mask.js';

const m = (name: string) => `/skiff.v1.WebserviceService/${name}`;

/** WebserviceService: deploy, update, inspect, delete; keys, tokens, progress and logs. */
export function webserviceService(deps: ServiceDeps): WebserviceServiceServer {
  const { store } = deps;
  const deployer = new Deployer(store, deps.queues, deps.masterKeys);

  /**
   * What live agents and routers report of a compute target (replicas undefined: no live
   * agent).
   */
  const reported = async (workspace: string, compute: string): Promise<ObservedLoad> => ({
    replicas:
      (await store.agents.list(workspace, compute)).length > 0
        ? await store.agents.replicas(workspace, compute)
        : undefined,
    routers: await store.routing.load(workspace, compute),
  });
  const view = async (record: ServiceRecord) =>
    webserviceToProto(
      record,
      await store.computes.get(record.workspace, record.compute),
      await reported(record.workspace, record.compute),
    );

  const target = (context: RequestContext, request: { workspace: string; name: string }) => {
    const workspace = scopeWorkspace(context, request.workspace);
    const name = requireServiceName(request.name);
    context.target = `webservice/${name}`;
    return { workspace, name };
  };

  return {
    deployWebservice: unary(
      deps,
      { method: m('DeployWebservice'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const outcome = await deployer.deploy({
          workspace,
          name,
          spec: request.spec,
          overwrite: request.overwrite,
          principal: context.caller.principal,
          now: deps.now(),
        });
        return { webservice: await view(outcome.record), operationId: outcome.operationId };
      },
    ),

    updateWebservice: unary(
      deps,
      { method: m('UpdateWebservice'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const current = await store.services.require(workspace, name);
        const spec =
          request.updateMask && request.updateMask.length > 0
            ? applyFieldMask(
                WebserviceSpec.fromJSON(current.spec),
                request.spec ?? WebserviceSpec.fromPartial({}),
                request.updateMask,
              )
            : request.spec;
        const outcome = await deployer.deploy({
          workspace,
          name,
          spec,
          overwrite: true,
          principal: context.caller.principal,
          now: deps.now(),
        });
        return { webservice: await view(outcome.record), operationId: outcome.operationId };
      },
    ),

    getWebservice: unary(deps, { method: m('GetWebservice') }, async (request, context) => {
      const { workspace, name } = target(context, request);
      return { webservice: await view(await store.services.require(workspace, name)) };
    }),

    listWebservices: unary(deps, { method: m('ListWebservices') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const size = pageSize(request.pageSize);
      const computes = new Map((await store.computes.list(workspace)).map((c) => [c.name, c]));
      const all = (await store.services.list(workspace)).filter(
        (s) =>
          (request.compute === '' || s.compute === request.compute) &&
          (request.modelName === '' ||
            WebserviceSpec.fromJSON(s.spec).models.some(
              (model) => model.name === request.modelName,
            )),
      );
      const { page, next } = paginate(all, size, pageOffset(request.pageToken));
      const replicas = new Map<string, Awaited<ReturnType<typeof reported>>>();
      for (const compute of new Set(page.map((record) => record.compute))) {
        replicas.set(compute, await reported(workspace, compute));
      }
      return {
        webservices: page.map((record) =>
          webserviceToProto(record, computes.get(record.compute), replicas.get(record.compute)),
        ),
        nextPageToken: next,
      };
    }),

    deleteWebservice: unary(
      deps,
      { method: m('DeleteWebservice'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const { record, operationId } = await deployer.delete(
          workspace,
          name,
          context.caller.principal,
          deps.now(),
        );
        return { webservice: await view(record), operationId };
      },
    ),

    watchDeployment: serverStream(
      deps,
      { method: m('WatchDeployment') },
      async (request, context, send) => {
        const { workspace, name } = target(context, request);
        if (request.generation < 0 || request.afterSequence < 0) {
          throw new InvalidArgumentError(
            'generation and after_sequence: expected 0 or a positive number',
            {
              field: request.generation < 0 ? 'generation' : 'after_sequence',
            },
          );
        }
        const service = await store.services.require(workspace, name);
        const generation = request.generation === 0 ? service.generation : request.generation;
        if (generation > service.generation) {
          throw new NotFoundError(
            `webservice '${name}' has no generation ${generation} (latest is ${service.generation})`,
            {
              field: 'generation',
            },
          );
        }
        let afterSequence = request.afterSequence;
        let cursor = '';
        await follow(store.feed, context.signal, serviceTopic(workspace, name), async () => {
          const read = await store.events.read(workspace, name, generation, afterSequence, cursor);
          cursor = read.lastStreamId;
          for (const stored of read.events) {
            const event = DeploymentEvent.fromJSON({
              ...stored.event,
              generation: stored.generation,
              sequence: stored.sequence,
              step: `DEPLOYMENT_STEP_${String(stored.event['step'])}`,
            });
            afterSequence = stored.sequence;
            await send({ event });
            if (event.terminal) return true;
          }
          if (!(await store.services.get(workspace, name))) {
            await send({
              event: DeploymentEvent.fromPartial({
                sequence: afterSequence + 1,
                generation,
                step: DeploymentStep.DEPLOYMENT_STEP_DELETED,
                message: `Webservice '${name}' was deleted`,
                terminal: true,
                time: deps.now(),
              }),
            });
            return true;
          }
          return false;
        });
      },
    ),

    getWebserviceLogs: serverStream(
      deps,
      { method: m('GetWebserviceLogs') },
      async (request, context, send) => {
        const { workspace, name } = target(context, request);
        if (!Number.isInteger(request.tail) || request.tail < 0 || request.tail > 10_000) {
          throw new InvalidArgumentError(`tail: expected 0 to 10000 lines, got ${request.tail}`, {
            field: 'tail',
          });
        }
        const afterId = streamPosition(request.afterId, 'after_id');
        await store.services.require(workspace, name);
        const replica = request.replica === '' ? undefined : request.replica;
        let cursor = afterId;
        if (cursor === '') {
          const initial = await store.logs.tail(
            workspace,
            name,
            request.tail === 0 ? 200 : request.tail,
            replica,
          );
          if (initial.length > 0) await send({ lines: initial.map(logLineToProto) });
          cursor = initial.at(-1)?.id ?? (await store.logs.lastId(workspace, name));
        }
        if (!request.follow) {
          if (request.afterId !== '')
            await send({
              lines: (await store.logs.after(workspace, name, cursor, replica)).map(logLineToProto),
            });
          return;
        }
        await follow(store.feed, context.signal, logTopic(workspace, name), async () => {
          const lines = await store.logs.after(workspace, name, cursor, replica);
          const last = lines.at(-1);
          if (last) {
            cursor = last.id;
            await send({ lines: lines.map(logLineToProto) });
          }
          return !(await store.services.get(workspace, name));
        });
      },
    ),

    getWebserviceKeys: unary(
      deps,
      { method: m('GetWebserviceKeys'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const record = await store.services.require(workspace, name);
        if (record.authMode !== 'key' || !record.keys) {
          throw new FailedPreconditionError(
            `webservice '${name}' does not use key auth (auth mode: ${record.authMode})`,
          );
        }
        return revealServiceKeys(record.keys, deps.masterKeys);
      },
    ),

    regenerateWebserviceKey: unary(
      deps,
      { method: m('RegenerateWebserviceKey'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const slot: KeySlot | undefined =
          request.keyType === KeyType.KEY_TYPE_PRIMARY
            ? 'primary'
            : request.keyType === KeyType.KEY_TYPE_SECONDARY
              ? 'secondary'
              : undefined;
        if (!slot) {
          throw new InvalidArgumentError(
            'key_type: expected KEY_TYPE_PRIMARY or KEY_TYPE_SECONDARY',
            { field: 'key_type' },
          );
        }
        const updated = await store.services.mutate(workspace, name, (current) => {
          if (!current)
            throw new NotFoundError(`webservice '${name}' not found`, { field: 'name' });
          if (current.authMode !== 'key' || !current.keys) {
            throw new FailedPreconditionError(
              `webservice '${name}' does not use key auth (auth mode: ${current.authMode})`,
            );
          }
          return {
            ...current,
            keys: regenerateServiceKey(current.keys, slot, {
              masterKeys: deps.masterKeys,
              key: request.keyValue === '' ? undefined : request.keyValue,
              now: deps.now(),
            }),
          };
        });
        if (!updated?.keys) throw new NotFoundError(`webservice '${name}' not found`);
        // Routers learn the new key digests from the next routing table, sent at once.
        await store.feed.publish(serviceTopic(workspace, name));
        await store.feed.publish(servicesTopic(workspace));
        return revealServiceKeys(updated.keys, deps.masterKeys);
      },
    ),

    getWebserviceToken: unary(
      deps,
      { method: m('GetWebserviceToken'), audited: true },
      async (request, context) => {
        const { workspace, name } = target(context, request);
        const record = await store.services.require(workspace, name);
        if (record.authMode !== 'token') {
          throw new FailedPreconditionError(
            `webservice '${name}' does not use token auth (set tokenAuthEnabled: true)`,
          );
        }
        const issued = await issueServiceToken({
          keyRing: deps.tokenKeys(),
          issuer: deps.tokenIssuer,
          service: { workspace, name },
          subject: context.caller.principal,
          now: deps.now(),
        });
        return { accessToken: issued.token, tokenType: 'Bearer', refreshBy: issued.refreshBy };
      },
    ),
  };
}

function logLineToProto(line: LogLineRecord): LogLine {
  return {
    id: line.id,
    time: new Date(line.time),
    replica: line.replica,
    stream: line.stream,
    text: line.text,
  };
}
