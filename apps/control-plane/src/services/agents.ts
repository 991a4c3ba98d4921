import { isArtifactDigest } from '@skiff/artifacts';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from '@skiff/errors';
import {
  ReplicaPhase,
  WebserviceSpec,
  type AgentServiceServer,
  type ReplicaStatus,
} from '@skiff/proto';
import { computeQueueName } from '@skiff/queue';
import type { ReplicaReport } from '@skiff/store';
import { logTopic, routingTopic } from '../deployments/events.js';
import { webserviceState } from '../deployments/webservice-view.js';
import { scopeWorkspace, type RequestContext } from '../rpc/context.js';
import { clientStream, serverStream, unary } from '../rpc/handlers.js';
import { requireDnsLabel, requireServiceName, requireString } from '../rpc/validate.js';
import { boundCompute, credentialCompute } from './agent-scope.js';
import type { ServiceDeps } from './deps.js';

const m = (name: string) => `/skiff.v1.AgentService/${name}`;

/** Largest doctor report accepted (JSON); a full default plan is a few tens of KB. */
const MAX_REPORT_BYTES = 1024 * 1024;

/**
 * The compute target an agent credential acts for. Agents report only for their own target;
 * anything else is PERMISSION_DENIED.
 */
async function agentCompute(
  deps: ServiceDeps,
  context: RequestContext,
  claimed: string,
): Promise<string> {
  const record = await deps.store.credentials.get(context.caller.principal);
  if (!record?.compute) {
    throw new PermissionDeniedError('only agent credentials bound to a compute target may report');
  }
  if (record.compute !== claimed) {
    throw new PermissionDeniedError(
      `this agent credential reports for compute target '${record.compute}', not '${claimed}'`,
      {
        field: 'report.compute',
      },
    );
  }
  return record.compute;
}

/** Most log lines one AppendLogs message may carry, and the longest line kept. */
const MAX_LINES_PER_MESSAGE = 1_000;
const MAX_LINE_CHARS = 16 * 1024;
/** Most replicas one report may list (one node's replicas). */
const MAX_REPLICAS_PER_REPORT = 2_000;
const LOG_STREAMS = ['stdout', 'stderr', 'system'] as const;
/** DownloadArtifact sends at most this much per message (the proto's limit). */
const CHUNK_BYTES = 1024 * 1024;

const PHASES: Record<number, ReplicaReport['phase'] | undefined> = {
  [ReplicaPhase.REPLICA_PHASE_STARTING]: 'starting',
  [ReplicaPhase.REPLICA_PHASE_READY]: 'ready',
  [ReplicaPhase.REPLICA_PHASE_FAILED]: 'failed',
  [ReplicaPhase.REPLICA_PHASE_TERMINATING]: 'terminating',
};

function requireNodeName(value: string | undefined, field: string): string {
  const name = requireString(value, field, 'the Kubernetes node (or host) name');
  if (name.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new InvalidArgumentError(
      `${field}: expected a node name (letters, digits, '.', '_', '-'; at most 253 characters)`,
      { field },
    );
  }
  return name;
}

/** A reported replica, validated: it must belong to the agent's workspace. */
function replicaReport(
  replica: ReplicaStatus,
  index: number,
  workspace: string,
  nodeName: string,
): ReplicaReport {
  const field = `replicas[${index}]`;
  if (replica.workspace !== workspace) {
    throw new PermissionDeniedError(
      `${field}.workspace: this agent reports for workspace '${workspace}', not '${replica.workspace}'`,
      { field: `${field}.workspace` },
    );
  }
  const phase = PHASES[replica.phase];
  if (!phase) {
    throw new InvalidArgumentError(
      `${field}.phase: expected REPLICA_PHASE_STARTING, READY, FAILED or TERMINATING`,
      { field: `${field}.phase` },
    );
  }
  if (phase === 'ready' && !/^[^\s/]+:\d{1,5}$/.test(replica.address)) {
    throw new InvalidArgumentError(
      `${field}.address: a ready replica needs host:port, got '${replica.address}'`,
      { field: `${field}.address` },
    );
  }
  return {
    workspace,
    service: requireServiceName(replica.service, `${field}.service`),
    generation: replica.generation,
    replicaId: requireString(replica.replicaId, `${field}.replica_id`, 'a replica id'),
    address: replica.address,
    phase,
    inFlight: Math.max(0, replica.inFlight),
    maxConcurrent: Math.max(0, replica.maxConcurrent),
    nodeName: replica.nodeName || nodeName,
    startTime: (replica.startTime ?? new Date(0)).toISOString(),
    restartCount: Math.max(0, replica.restartCount),
    message: replica.message.slice(0, 4_096),
  };
}

/**
 * AgentService: agents of a compute target register (a heartbeat that makes the target
 * Ready), report their replicas (which feed services' replica counts and the routing table),
 * ship replica logs, download artifacts for their node cache, read what a service should run,
 * and report connectivity. Every call is bound to the compute target of the agent credential.
 */
export function agentService(deps: ServiceDeps): AgentServiceServer {
  const { store } = deps;
  const reportIntervalMs = deps.agentReportIntervalMs;

  const bound = (context: RequestContext, workspace: string, compute: string) =>
    boundCompute(deps, context, workspace, compute);
  /** A service of the agent's workspace that runs on the agent's compute target. */
  const ownService = async (context: RequestContext, workspace: string, service: string) => {
    const ws = scopeWorkspace(context, workspace);
    const name = requireServiceName(service, 'service');
    const compute = await credentialCompute(deps, context);
    const record = await store.services.get(ws, name);
    if (!record) throw new NotFoundError(`webservice '${name}' not found`, { field: 'service' });
    if (record.compute !== compute) {
      throw new PermissionDeniedError(
        `webservice '${name}' runs on compute target '${record.compute}', not this agent's '${compute}'`,
        { field: 'service' },
      );
    }
    return record;
  };

  return {
    registerAgent: unary(
      deps,
      { method: m('RegisterAgent'), audited: true },
      async (request, context) => {
        const { workspace, compute } = await bound(context, request.workspace, request.compute);
        const nodeName = requireNodeName(request.nodeName, 'node_name');
        const capacity = request.capacity;
        for (const [name, value] of Object.entries(capacity ?? {})) {
          if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
            throw new InvalidArgumentError(`capacity.${name}: expected a number ≥ 0`, {
              field: `capacity.${name}`,
            });
          }
        }
        const now = deps.now().toISOString();
        await store.agents.heartbeat({
          workspace,
          compute,
          nodeName,
          agentVersion: request.agentVersion.slice(0, 64),
          capacity: {
            cpu: capacity?.cpu ?? 0,
            memoryInGB: capacity?.memoryInGb ?? 0,
            gpu: capacity?.gpu ?? 0,
            fpga: capacity?.fpga ?? 0,
          },
          labels: request.labels,
          registeredAt: now,
          lastSeen: now,
        });
        context.target = `compute/${compute}/node/${nodeName}`;
        const redis = deps.agentRedis ? await deps.agentRedis.grant(workspace, compute) : undefined;
        return {
          agentId: nodeName,
          queueName: computeQueueName(workspace, compute),
          reportInterval: {
            seconds: Math.floor(reportIntervalMs / 1000),
            nanos: (reportIntervalMs % 1000) * 1e6,
          },
          redis,
        };
      },
    ),

    reportReplicas: clientStream(
      deps,
      { method: m('ReportReplicas') },
      async (requests, context) => {
        const compute = await credentialCompute(deps, context);
        const workspace = scopeWorkspace(context, '');
        for await (const request of requests) {
          const nodeName = requireNodeName(request.agentId, 'agent_id');
          if (request.replicas.length > MAX_REPLICAS_PER_REPORT) {
            throw new InvalidArgumentError(
              `replicas: at most ${MAX_REPLICAS_PER_REPORT} per report, got ${request.replicas.length}`,
              { field: 'replicas' },
            );
          }
          const replicas = request.replicas.map((replica, index) =>
            replicaReport(replica, index, workspace, nodeName),
          );
          if (!(await store.agents.touch(workspace, compute, nodeName, deps.now()))) {
            throw new FailedPreconditionError(
              `agent '${nodeName}' is not registered with compute target '${compute}'; call RegisterAgent first`,
              { field: 'agent_id' },
            );
          }
          // Kept for three report intervals: an agent that dies takes its replicas out of routing.
          await store.agents.saveReplicas(
            workspace,
            compute,
            nodeName,
            replicas,
            reportIntervalMs * 3,
          );
          await store.feed.publish(routingTopic(workspace, compute));
        }
        return {};
      },
    ),

    appendLogs: clientStream(deps, { method: m('AppendLogs') }, async (requests, context) => {
      let appended = 0;
      for await (const request of requests) {
        const record = await ownService(context, request.workspace, request.service);
        if (request.lines.length > MAX_LINES_PER_MESSAGE) {
          throw new InvalidArgumentError(
            `lines: at most ${MAX_LINES_PER_MESSAGE} per message, got ${request.lines.length}`,
            { field: 'lines' },
          );
        }
        const lines = request.lines.map((line, index) => {
          const stream = LOG_STREAMS.find((known) => known === line.stream);
          if (!stream) {
            throw new InvalidArgumentError(
              `lines[${index}].stream: expected stdout, stderr or system, got '${line.stream.slice(0, 40)}'`,
              { field: `lines[${index}].stream` },
            );
          }
          return {
            time: (line.time ?? deps.now()).toISOString(),
            replica: line.replica.slice(0, 253),
            stream,
            text: line.text.slice(0, MAX_LINE_CHARS),
          };
        });
        appended += await store.logs.append(record.workspace, record.name, lines);
        await store.feed.publish(logTopic(record.workspace, record.name));
      }
      return { appended };
    }),

    downloadArtifact: serverStream(
      deps,
      { method: m('DownloadArtifact') },
      async (request, context, send) => {
        const workspace = scopeWorkspace(context, request.workspace);
        await credentialCompute(deps, context);
        const digest: string = request.digest;
        if (!isArtifactDigest(digest)) {
          throw new InvalidArgumentError(
            `digest: expected sha256:<64 lowercase hex digits>, got '${request.digest.slice(0, 80)}'`,
            { field: 'digest' },
          );
        }
        const owned =
          (await store.snapshots.get(workspace, request.digest)) !== undefined ||
          (await store.models.ownsBlob(workspace, request.digest));
        // Another workspace's artifact is reported exactly like a missing one.
        if (!owned)
          throw new NotFoundError(`artifact '${request.digest}' not found`, { field: 'digest' });
        context.target = `artifact/${request.digest}`;
        // Leaving the loop early (cancelled) ends the iterator, which closes the stream.
        for await (const chunk of await deps.artifacts.open(request.digest)) {
          for (let offset = 0; offset < chunk.length; offset += CHUNK_BYTES) {
            if (context.signal.aborted) return;
            await send({ chunk: Buffer.from(chunk.subarray(offset, offset + CHUNK_BYTES)) });
          }
        }
      },
    ),

    getDeployment: unary(deps, { method: m('GetDeployment') }, async (request, context) => {
      const record = await ownService(context, request.workspace, request.service);
      const spec = WebserviceSpec.fromJSON(record.spec);
      const models = await Promise.all(
        spec.models.map(async (ref) => {
          const model = await store.models.get(record.workspace, ref.name, ref.version);
          if (!model) {
            throw new FailedPreconditionError(
              `model '${ref.name}' version ${ref.version} of webservice '${record.name}' was deleted`,
              { field: 'spec.models' },
            );
          }
          return {
            name: model.name,
            version: model.version,
            digest: model.digest,
            files: model.files.map((file) => ({
              path: file.path,
              sizeBytes: file.size,
              executable: file.executable,
              blobDigest: file.blob,
            })),
          };
        }),
      );
      return {
        generation: record.generation,
        state: webserviceState(record.state),
        spec,
        environmentHash: record.environmentHash,
        desiredReplicas: record.desiredReplicas,
        models,
        scaleSequence: record.scaleSequence ?? 0,
      };
    }),

    reportConnectivity: unary(
      deps,
      { method: m('ReportConnectivity') },
      async (request, context) => {
        const report = request.report;
        const workspace = scopeWorkspace(context, '');
        const compute = requireDnsLabel(report?.compute, 'report.compute', 2, 16);
        const nodeName = requireString(
          report?.nodeName,
          'report.node_name',
          'the Kubernetes node (or host) name',
        );
        if (nodeName.length > 253) {
          throw new InvalidArgumentError('report.node_name: expected at most 253 characters', {
            field: 'report.node_name',
          });
        }
        const reportJson = report?.reportJson ?? '';
        if (Buffer.byteLength(reportJson) > MAX_REPORT_BYTES) {
          throw new InvalidArgumentError(
            `report.report_json: expected at most ${MAX_REPORT_BYTES} bytes of JSON`,
            {
              field: 'report.report_json',
            },
          );
        }
        try {
          JSON.parse(reportJson);
        } catch {
          throw new InvalidArgumentError(
            'report.report_json: expected the doctor report as JSON (skiff.dev/doctor-report/v1)',
            {
              field: 'report.report_json',
            },
          );
        }
        await deps.store.computes.require(workspace, compute);
        await agentCompute(deps, context, compute);
        context.target = `compute/${compute}/node/${nodeName}`;
        await deps.store.connectivity.save(workspace, {
          compute,
          nodeName,
          time: (report?.time ?? deps.now()).toISOString(),
          healthy: report?.healthy ?? false,
          failedChecks: report?.failedChecks ?? 0,
          warnings: report?.warnings ?? 0,
          reportJson,
        });
        return {};
      },
    ),
  };
}
