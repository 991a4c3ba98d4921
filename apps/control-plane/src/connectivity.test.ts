import { status } from '@grpc/grpc-js';
import { AgentServiceClient, ComputeKind, Role } from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  failure,
  startHarness,
  type Harness,
} from './test-support/harness.js';

// The doctor's continuous mode on each node reports through AgentService; users read the
// per-node picture with ComputeService.GetConnectivity (`skiff doctor --cluster COMPUTE`).
describe('connectivity reports', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let team: Awaited<ReturnType<Harness['team']>>;
  let agent: AgentServiceClient;
  const agentMetadata = new Metadata();
  const otherAgentMetadata = new Metadata();

  const report = (overrides: Record<string, unknown> = {}) => ({
    report: {
      compute: 'aks',
      nodeName: 'node-1',
      time: new Date('2026-11-26T10:00:00Z'),
      healthy: false,
      failedChecks: 2,
      warnings: 1,
      reportJson: JSON.stringify({ schema: 'skiff.dev/doctor-report/v1' }),
      ...overrides,
    },
  });

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    team = await harness.team('team-a');
    for (const name of ['aks', 'other']) {
      await attachCompute(team.admin, 'team-a', name, ComputeKind.COMPUTE_KIND_KUBERNETES);
    }
    const issue = async (compute: string) =>
      (
        await call(
          team.admin.workspaces,
          team.admin.workspaces.createCredential,
          { workspace: 'team-a', role: Role.ROLE_AGENT, description: 'agent', compute },
          team.admin.metadata,
        )
      ).token;
    agentMetadata.set('authorization', `Bearer ${await issue('aks')}`);
    otherAgentMetadata.set('authorization', `Bearer ${await issue('other')}`);
    agent = new AgentServiceClient(harness.address, credentials.createInsecure());
  });
  afterAll(async () => {
    agent.close();
    await harness.stop();
    await redis.cleanup();
  });

  it('stores an agent report and shows it per node to readers', async () => {
    await call(agent, agent.reportConnectivity, report(), agentMetadata);
    await call(
      agent,
      agent.reportConnectivity,
      report({ nodeName: 'node-2', healthy: true, failedChecks: 0, warnings: 0 }),
      agentMetadata,
    );
    const picture = await call(
      team.reader.computes,
      team.reader.computes.getConnectivity,
      { workspace: 'team-a', compute: 'aks' },
      team.reader.metadata,
    );
    expect(picture.reports.map((r) => [r.nodeName, r.healthy, r.failedChecks])).toEqual([
      ['node-1', false, 2],
      ['node-2', true, 0],
    ]);
    expect(picture.reports[0]?.time).toEqual(new Date('2026-11-26T10:00:00Z'));
  });

  it('refuses an agent reporting for another compute target, and people reporting at all', async () => {
    expect(
      (await failure(call(agent, agent.reportConnectivity, report(), otherAgentMetadata))).code,
    ).toBe(status.PERMISSION_DENIED);
    expect(
      (await failure(call(agent, agent.reportConnectivity, report(), team.admin.metadata))).code,
    ).toBe(status.PERMISSION_DENIED);
  });

  it.each([
    ['no node name', { nodeName: '' }, 'report.node_name'],
    ['a report that is not JSON', { reportJson: 'not json' }, 'report.report_json'],
    ['a bad compute name', { compute: 'AKS!' }, 'report.compute'],
  ])('rejects %s with INVALID_ARGUMENT naming the field', async (_what, overrides, field) => {
    const error = await failure(
      call(agent, agent.reportConnectivity, report(overrides), agentMetadata),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain(field);
  });
});
