import { InvalidArgumentError, PermissionDeniedError } from '@skiff/errors';
import { AgentServiceService, type AgentServiceServer } from '@skiff/proto';
import { scopeWorkspace, type RequestContext } from '../rpc/context.js';
import { unary } from '../rpc/handlers.js';
import { requireDnsLabel, requireString } from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';
import { unimplemented } from './unimplemented.js';

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

/**
 * AgentService. Connectivity reports work now (the doctor's continuous mode sends them);
 * registration, replica reports, logs and artifact downloads arrive with the agent issue.
 */
export function agentService(deps: ServiceDeps): AgentServiceServer {
  const later = unimplemented(
    AgentServiceService,
    'agents arrive with the agent issue',
  ) as unknown as AgentServiceServer;
  return {
    ...later,
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
