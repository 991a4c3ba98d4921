import { credentials, Metadata } from '@grpc/grpc-js';
import { SkiffClient } from '@skiff/client';
import { AgentServiceClient, Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

// `skiff doctor --compute NAME`: the per-node picture that the doctors on the nodes reported
// to the control plane (AgentService.ReportConnectivity), read through ComputeService.
describe('skiff doctor --compute', () => {
  let cp: ControlPlaneProcess;
  let reader: Record<string, string>;

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    const teamAdmin = {
      SKIFF_ENDPOINT: cp.endpoint,
      SKIFF_TOKEN: await cp.team('team-a'),
      SKIFF_WORKSPACE: 'team-a',
    };
    const attached = await runSkiff(
      ['compute', 'attach', '-n', 'local', '--kind', 'local'],
      teamAdmin,
    );
    expect(attached.code).toBe(0);
    reader = { ...teamAdmin, SKIFF_TOKEN: await cp.team('team-a', Role.ROLE_READER) };
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('says no node has reported yet, and exits 1', async () => {
    const result = await runSkiff(['doctor', '--compute', 'local'], reader);
    expect(result.code).toBe(1);
    expect(result.err).toContain("No node of compute target 'local' has reported yet");
  });

  it('shows the latest report per node, exit 1 while a node is unhealthy', async () => {
    const admin = await SkiffClient.connect({ endpoint: cp.endpoint, token: cp.adminToken });
    const { token } = await admin.workspaces.createCredential({
      workspace: 'team-a',
      role: Role.ROLE_AGENT,
      compute: 'local',
    });
    admin.close();
    const agent = new AgentServiceClient(cp.endpoint, credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const report = (nodeName: string, healthy: boolean) =>
      new Promise<void>((resolve, reject) =>
        agent.reportConnectivity(
          {
            report: {
              compute: 'local',
              nodeName,
              time: new Date('2026-11-26T10:00:00Z'),
              healthy,
              failedChecks: healthy ? 0 : 3,
              warnings: 1,
              reportJson: JSON.stringify({ schema: 'skiff.dev/doctor-report/v1', node: nodeName }),
            },
          },
          metadata,
          (error) => (error ? reject(error) : resolve()),
        ),
      );
    await report('node-a', true);
    await report('node-b', false);
    agent.close();

    const table = await runSkiff(['doctor', '--compute', 'local'], reader);
    expect(table.code).toBe(1);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NODE +HEALTHY +FAILED +WARNINGS +REPORTED$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['node-a', 'yes', '0'],
      ['node-b', 'no', '3'],
    ]);

    const json = await runSkiff(['doctor', '--compute', 'local', '-o', 'json'], reader);
    const parsed = JSON.parse(json.out) as Array<{ nodeName: string; report: { node: string } }>;
    expect(parsed.map((r) => [r.nodeName, r.report.node])).toEqual([
      ['node-a', 'node-a'],
      ['node-b', 'node-b'],
    ]);
  });

  it('answers NOT_FOUND for a compute target of another workspace', async () => {
    const other = {
      ...reader,
      SKIFF_TOKEN: await cp.team('team-b', Role.ROLE_READER),
      SKIFF_WORKSPACE: 'team-b',
    };
    const result = await runSkiff(['doctor', '--compute', 'local'], other);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^skiff: NOT_FOUND: compute target 'local' not found/);
  });
});
