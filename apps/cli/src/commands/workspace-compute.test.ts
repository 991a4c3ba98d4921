import { Role } from '@skiff/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

describe('skiff workspace and skiff compute against a control plane process', () => {
  let cp: ControlPlaneProcess;
  let admin: Record<string, string>;
  let teamAdmin: Record<string, string>;
  let reader: Record<string, string>;

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    admin = { SKIFF_ENDPOINT: cp.endpoint, SKIFF_TOKEN: cp.adminToken };
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('creates a workspace as the platform admin and shows it', async () => {
    const created = await runSkiff(
      ['workspace', 'create', '-n', 'team-a', '-d', 'Team A', '--registry', '127.0.0.1:5000'],
      admin,
    );
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^Name: +team-a$/m);
    expect(created.out).toMatch(/^Registry: +127\.0\.0\.1:5000$/m);

    const shown = await runSkiff(['workspace', 'show', '-n', 'team-a', '-o', 'json'], admin);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({
      name: 'team-a',
      description: 'Team A',
      defaultNamespace: 'team-a',
      containerRegistry: { address: '127.0.0.1:5000' },
    });
    teamAdmin = {
      ...admin,
      SKIFF_TOKEN: await cp.team('team-a', Role.ROLE_ADMIN),
      SKIFF_WORKSPACE: 'team-a',
    };
    reader = { ...teamAdmin, SKIFF_TOKEN: await cp.team('team-a', Role.ROLE_READER) };
  });

  it('lists workspaces as a table and as JSON', async () => {
    await runSkiff(['workspace', 'create', '-n', 'team-b'], admin);
    const table = await runSkiff(['workspace', 'list'], admin);
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME +NAMESPACE +CREATED +DESCRIPTION$/);
    expect(
      lines
        .slice(1)
        .map((line) => line.split(/\s+/)[0])
        .sort(),
    ).toEqual(['team-a', 'team-b']);
    const json = await runSkiff(['workspace', 'list', '-o', 'json'], admin);
    expect((JSON.parse(json.out) as { name: string }[]).map((w) => w.name).sort()).toEqual([
      'team-a',
      'team-b',
    ]);
  });

  it('reports a taken name in one line with the status code, exit 1', async () => {
    const again = await runSkiff(['workspace', 'create', '-n', 'team-a'], admin);
    expect(again.code).toBe(1);
    expect(again.out).toBe('');
    expect(again.err).toMatch(/^skiff: ALREADY_EXISTS: [^\n]*team-a[^\n]*\n$/);
  });

  it('attaches, lists, shows and detaches a compute target in the current workspace', async () => {
    const attached = await runSkiff(
      [
        'compute',
        'attach',
        '-n',
        'local',
        '--kind',
        'local',
        '--router-url',
        'http://127.0.0.1:8080',
      ],
      teamAdmin,
    );
    expect(attached.err).toBe('');
    expect(attached.code).toBe(0);
    expect(attached.out).toMatch(/^Kind: +Local$/m);
    expect(attached.out).toMatch(/^State: +WaitingForAgents$/m);

    const aks = await runSkiff(
      [
        'compute',
        'attach',
        '-n',
        'aks1',
        '--cluster-purpose',
        'FastProd',
        '--namespace',
        'ml',
        '--router-url',
        'https://ml.example.test',
        '-o',
        'json',
      ],
      teamAdmin,
    );
    expect(aks.err).toBe('');
    expect(JSON.parse(aks.out)).toMatchObject({
      name: 'aks1',
      workspace: 'team-a',
      kind: 'COMPUTE_KIND_KUBERNETES',
      clusterPurpose: 'CLUSTER_PURPOSE_FAST_PROD',
      namespace: 'ml',
    });

    const list = await runSkiff(['compute', 'list'], reader);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^NAME +KIND +STATE +AGENTS +ROUTER URL$/m);
    expect(list.out).toMatch(
      /^aks1 +Kubernetes +WaitingForAgents +0 +https:\/\/ml\.example\.test$/m,
    );
    expect(list.out).toMatch(/^local +Local +WaitingForAgents +0 +http:\/\/127\.0\.0\.1:8080$/m);

    const shown = await runSkiff(['compute', 'show', '-n', 'local', '-o', 'json'], reader);
    expect(JSON.parse(shown.out)).toMatchObject({
      name: 'local',
      routerUrl: 'http://127.0.0.1:8080',
    });

    const detached = await runSkiff(['compute', 'detach', '-n', 'aks1'], teamAdmin);
    expect(detached.code).toBe(0);
    expect(detached.out).toBe('Detached compute target aks1 from workspace team-a.\n');
    const gone = await runSkiff(['compute', 'show', '-n', 'aks1'], reader);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/^skiff: NOT_FOUND: /);
  });

  it("passes the control plane's refusal of a role through: PERMISSION_DENIED, exit 1", async () => {
    const denied = await runSkiff(['compute', 'attach', '-n', 'sneaky', '--kind', 'local'], reader);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/^skiff: PERMISSION_DENIED: [^\n]+\n$/);
  });

  it('names the field of an invalid request', async () => {
    const bad = await runSkiff(
      ['compute', 'attach', '-n', 'Not_A_Label', '--kind', 'local'],
      teamAdmin,
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^skiff: INVALID_ARGUMENT: [^\n]*name[^\n]*\n$/);
  });

  it('rejects an unknown --kind as a usage error, exit 2', async () => {
    const bad = await runSkiff(['compute', 'attach', '-n', 'x1', '--kind', 'mainframe'], teamAdmin);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("'mainframe' is invalid");
  });

  it('shows the empty state on stderr, keeping stdout empty', async () => {
    const none = await runSkiff(['service', 'list'], reader);
    expect(none.code).toBe(0);
    expect(none.out).toBe('');
    expect(none.err).toBe('No services.\n');
  });
});
