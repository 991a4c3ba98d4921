// A deployment to a compute target no agent serves sits in Queued; after a while the CLI says
// so once, with how to start an agent, and keeps waiting. Real CLI processes (Ctrl-C ends the
// wait) against a real control plane; 'idle' never had an agent, 'staffed' has one.
import { spawn } from 'node:child_process';
import { cp as copy, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SkiffClient } from '@skiff/client';
import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  skiffBin,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

const fixtureProject = fileURLToPath(
  new URL('../../../../libs/config/test-fixtures/project', import.meta.url),
);
const HINT = /still Queued: compute target '(\w+)' has no ready agent/g;
const HINT_AFTER_MS = 300;

describe('model deploy to a compute target without a ready agent', () => {
  let cp: ControlPlaneProcess;
  let project: string;
  let env: Record<string, string>;
  let agentToken: string;

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    project = await mkdtemp(join(tmpdir(), 'skiff-cli-queued-'));
    await copy(fixtureProject, project, { recursive: true });
    const admin = {
      SKIFF_ENDPOINT: cp.endpoint,
      SKIFF_WORKSPACE: 'team-q',
      SKIFF_TOKEN: await cp.team('team-q', Role.ROLE_ADMIN),
    };
    for (const compute of ['idle', 'staffed']) {
      const attached = await runSkiff(
        ['compute', 'attach', '-n', compute, '--kind', 'local'],
        admin,
      );
      expect(attached.err).toBe('');
    }
    const client = await SkiffClient.connect({ endpoint: cp.endpoint, token: cp.adminToken });
    agentToken = (
      await client.workspaces.createCredential({
        workspace: 'team-q',
        role: Role.ROLE_AGENT,
        compute: 'staffed',
      })
    ).token;
    client.close();
    env = { ...admin, SKIFF_TOKEN: await cp.team('team-q', Role.ROLE_DEPLOYER) };
  }, 60_000);
  afterAll(async () => {
    await cp?.stop();
    if (project) await rm(project, { recursive: true, force: true });
  });

  /** Runs `skiff model deploy` to `compute` for `forMs` after its first Queued line, then Ctrl-C. */
  async function deployAndWait(service: string, compute: string, forMs: number) {
    const child = spawn(
      process.execPath,
      [
        skiffBin,
        'model',
        'deploy',
        '-n',
        service,
        '--ic',
        'inferenceconfig.json',
        '--dc',
        'deploymentconfig.json',
        '--ct',
        compute,
      ],
      {
        cwd: project,
        env: {
          ...process.env,
          ...env,
          SKIFF_CONFIG_DIR: project,
          SKIFF_AGENT_HINT_AFTER_MS: String(HINT_AFTER_MS),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/ Queued /.test(out)) resolve();
      });
      void exit.then(() => reject(new Error(`skiff exited before waiting:\n${out}\n${err}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, forMs));
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    return { out, err };
  }

  it('says once that no agent of the compute has reported, how to start one, and keeps waiting', async () => {
    const { err } = await deployAndWait('svc-idle', 'idle', HINT_AFTER_MS * 8);
    expect([...err.matchAll(HINT)].map((m) => m[1])).toEqual(['idle']);
    expect(err).toContain('no agent of it has reported yet');
    expect(err).toContain("'skiff up'");
    expect(err).toContain('SKIFF_COMPUTE=idle');
    expect(err).toContain('Stopped waiting; the deployment goes on.');
  }, 60_000);

  it('says nothing while an agent of the compute reports', async () => {
    const agent = await SkiffClient.connect({ endpoint: cp.endpoint, token: agentToken });
    const register = () =>
      agent.agents.register({
        workspace: 'team-q',
        compute: 'staffed',
        nodeName: 'node-1',
        agentVersion: 'test',
      });
    await register();
    // Registering again is what keeps it "seen" within the control plane's horizon.
    const heartbeat = setInterval(() => void register().catch(() => undefined), 300);
    try {
      const { err } = await deployAndWait('svc-staffed', 'staffed', HINT_AFTER_MS * 8);
      expect(err).not.toMatch(HINT);
      expect(err).toContain('Stopped waiting; the deployment goes on.');
    } finally {
      clearInterval(heartbeat);
      agent.close();
    }
  }, 60_000);
});
