import { readFileSync } from 'node:fs';
import type { Client } from '@grpc/grpc-js';
import { Role } from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_PERMISSIONS } from './permissions.js';
import { renderRoleTable, withRoleTable } from './role-table.js';
import { attachCompute, call, startHarness, type Harness } from './test-support/harness.js';
import { everyRpc, rawCall, rawClient } from './test-support/raw-call.js';

const DOCS = new URL('../../../docs/control-plane.md', import.meta.url);
const COLUMNS = ['reader', 'deployer', 'admin', 'platform admin', 'agent'] as const;

/** The docs' table as { 'WorkspaceService/CreateWorkspace': { reader: false, … } }. */
function documented(): Map<string, Record<(typeof COLUMNS)[number], boolean>> {
  const rows = new Map<string, Record<(typeof COLUMNS)[number], boolean>>();
  for (const line of readFileSync(DOCS, 'utf8').split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const rpc = /^`(\w+\/\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (!rpc) continue;
    rows.set(
      rpc,
      Object.fromEntries(COLUMNS.map((column, i) => [column, cells[3 + i] === 'yes'])) as Record<
        (typeof COLUMNS)[number],
        boolean
      >,
    );
  }
  return rows;
}

describe('the role table in docs/control-plane.md', () => {
  it('is what tools/scripts/role-table.mjs generates from the permission map', () => {
    const docs = readFileSync(DOCS, 'utf8');
    // On failure: node --import @skiff/source-runtime/register tools/scripts/role-table.mjs
    expect(withRoleTable(docs, renderRoleTable())).toBe(docs);
  });

  it('has a permission, and a row, for every RPC the API defines (and no other)', () => {
    const defined = everyRpc().map((rpc) => rpc.path);
    expect(Object.keys(METHOD_PERMISSIONS).sort()).toEqual([...defined].sort());
    expect([...documented().keys()].sort()).toEqual(
      defined.map((path) => path.replace(/^\/skiff\.v1\./, '')).sort(),
    );
  });
});

describe('the role table is what a real control plane does', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let client: Client;
  const tokens = {} as Record<(typeof COLUMNS)[number], string>;

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    const team = await harness.team('team-r');
    await attachCompute(team.admin, 'team-r');
    const agent = await call(
      team.admin.workspaces,
      team.admin.workspaces.createCredential,
      { workspace: 'team-r', role: Role.ROLE_AGENT, description: '', compute: 'local' },
      team.admin.metadata,
    );
    Object.assign(tokens, team.tokens, {
      'platform admin': harness.adminToken,
      agent: agent.token,
    });
    client = rawClient(harness.address);
  });
  afterAll(async () => {
    client.close();
    await harness.stop();
    await redis.cleanup();
  });

  // An empty request: nothing is created or deleted (every such RPC needs a name), and the
  // answer shows whether the caller got past the permission checks.
  it.each(everyRpc())('$path refuses exactly the roles the table leaves out', async (rpc) => {
    const row = documented().get(rpc.path.replace(/^\/skiff\.v1\./, ''));
    expect(row).toBeDefined();
    for (const column of COLUMNS) {
      const outcome = await rawCall(client, rpc, tokens[column], [Buffer.alloc(0)]);
      const refused = outcome.code === 'PERMISSION_DENIED';
      expect({ column, refused, outcome }).toEqual({
        column,
        refused: !row?.[column],
        outcome: expect.objectContaining({
          code: expect.not.stringMatching(/^(UNAUTHENTICATED|INTERNAL|UNKNOWN)$/) as unknown,
        }) as unknown,
      });
    }
  });
});
