import { create, ScalarType, toBinary, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { Metadata, type Client } from '@grpc/grpc-js';
import { can } from '@skiff/auth';
import { Role } from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_PERMISSIONS, PLATFORM_ADMIN_METHODS } from './permissions.js';
import { skiffSchema } from './rpc/descriptors.js';
import {
  attachCompute,
  call,
  minimalSpec,
  startHarness,
  type Harness,
} from './test-support/harness.js';
import { everyRpc, rawCall, rawClient, type RpcMethod } from './test-support/raw-call.js';

// Issue 13: "make this class impossible". Every RPC of every service in the generated
// definitions (a new one is covered by itself) gets requests whose every field holds an
// arbitrary value — strings of any content, the names that exist, stream ids, int64 extremes,
// unknown enum values, masks of real and hostile paths — sent as the caller allowed to make
// the call, and must never answer INTERNAL or UNKNOWN. The server must still serve at the end.

const RUNS = Number(process.env['SKIFF_FUZZ_RUNS'] ?? 25);

/** Names that exist in the fixture, so requests also get past "not found" into the handlers. */
const KNOWN = ['team-f', 'local', 'iris', 'model-f'];
const HOSTILE = [
  '',
  ' ',
  'garbage',
  '0',
  '0-0',
  '1-1',
  '18446744073709551615-18446744073709551615',
  '18446744073709551616-0',
  '__proto__',
  'constructor',
  'toString',
  'prototype',
  'hasOwnProperty',
  `sha256:${'a'.repeat(64)}`,
  'sha256:',
  '../../etc/passwd',
  '/abs',
  'a'.repeat(300),
  'x\u0000y',
  '💥',
  '%s%n',
  '${jndi:x}',
];

const INT64_EDGES = [
  0n,
  1n,
  -1n,
  BigInt(Number.MAX_SAFE_INTEGER),
  BigInt(Number.MAX_SAFE_INTEGER) + 1n,
  -BigInt(Number.MAX_SAFE_INTEGER) - 1n,
  (1n << 63n) - 1n,
  -(1n << 63n),
];

/** Field names of the webservice spec tree and names every object has: mask path segments. */
function maskSegments(): string[] {
  const names = new Set<string>(['constructor', '__proto__', 'prototype', 'valueOf', 'length']);
  const visit = (desc: DescMessage, depth: number) => {
    for (const field of desc.fields) {
      names.add(field.name);
      if (field.fieldKind === 'message' && depth < 4) visit(field.message, depth + 1);
    }
  };
  visit(skiffSchema().getMessage('skiff.v1.WebserviceSpec') as DescMessage, 0);
  return [...names];
}

const text = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...KNOWN) },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 2_000 }) },
  );

/** Fields that name something: mostly the fixture's names, so calls reach deep code. */
const NAMES: Readonly<Record<string, readonly string[]>> = {
  workspace: ['team-f'],
  name: ['iris', 'iris', 'iris', 'team-f', 'model-f', 'local'],
  compute: ['local'],
  service: ['iris'],
};

function scalar(type: ScalarType, fieldName = ''): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING: {
      const names = NAMES[fieldName];
      return names
        ? fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(...names) },
            { weight: 1, arbitrary: text() },
          )
        : text();
    }
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      // Small counts most often (page sizes, tails pass and the call goes on), then extremes.
      return fc.oneof(
        { weight: 2, arbitrary: fc.nat({ max: 100 }) },
        { weight: 1, arbitrary: fc.constantFrom(-1, 2 ** 31 - 1, -(2 ** 31)) },
        { weight: 1, arbitrary: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) },
      );
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(
        fc.constantFrom(...INT64_EDGES.filter((v) => v >= 0n), (1n << 64n) - 1n),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      );
    default: // INT64, SINT64, SFIXED64
      return fc.oneof(
        fc.constantFrom(...INT64_EDGES),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      );
  }
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  const single = (): fc.Arbitrary<unknown> | undefined => {
    switch (field.fieldKind) {
      case 'scalar':
        return scalar(field.scalar, field.name);
      case 'enum':
        // Known values and any other int32: proto3 enums are open, unknown values arrive.
        return fc.oneof(
          fc.constantFrom(...field.enum.values.map((v) => v.number)),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        );
      case 'message':
        return message(field.message, depth + 1);
      default:
        return undefined;
    }
  };
  if (field.fieldKind === 'list') {
    const item =
      field.listKind === 'message'
        ? message(field.message, depth + 1)
        : field.listKind === 'enum'
          ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
          : scalar(field.scalar);
    return item && fc.array(item, { maxLength: 3 });
  }
  if (field.fieldKind === 'map') {
    const value =
      field.mapKind === 'message'
        ? message(field.message, depth + 1)
        : field.mapKind === 'enum'
          ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
          : scalar(field.scalar);
    return value && fc.dictionary(text(), value, { maxKeys: 3 });
  }
  return single();
}

/** An init object for `desc` (protobuf-es `create`) with arbitrary values in any field. */
function message(desc: DescMessage, depth = 0): fc.Arbitrary<unknown> | undefined {
  if (depth > 4) return undefined;
  if (desc.typeName === 'google.protobuf.FieldMask') {
    const segments = maskSegments();
    const path = fc.oneof(
      fc
        .array(fc.oneof(fc.constantFrom(...segments), text()), { minLength: 1, maxLength: 4 })
        .map((parts) => parts.join('.')),
      text(),
    );
    return fc.record({ paths: fc.array(path, { maxLength: 4 }) });
  }
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    if (field.oneof) continue;
    const value = fieldValue(field, depth);
    if (value) parts[field.localName] = value;
  }
  for (const oneof of desc.oneofs) {
    const members = oneof.fields.flatMap((field) => {
      const value = fieldValue(field, depth);
      return value ? [value.map((v) => ({ case: field.localName, value: v }))] : [];
    });
    if (members.length > 0) parts[oneof.localName] = fc.oneof(...members);
  }
  return fc.record(parts, { requiredKeys: [] });
}

function encoder(rpc: RpcMethod): { desc: DescMessage; request: fc.Arbitrary<unknown> } {
  const [, service, name] = /^\/([^/]+)\/([^/]+)$/.exec(rpc.path) ?? [];
  const desc = skiffSchema()
    .getService(service ?? '')
    ?.methods.find((m) => m.name === name)?.input;
  if (!desc) throw new Error(`${rpc.path} is missing from the descriptor set`);
  return { desc, request: message(desc) ?? fc.constant({}) };
}

/** Destructive calls last, so earlier ones still find the fixture's workspace and service. */
const ORDER = (rpc: RpcMethod) => (/\/(Delete|Detach|Revoke)\w+$/.test(rpc.path) ? 1 : 0);
const RPCS = everyRpc().sort((a, b) => ORDER(a) - ORDER(b));

describe('arbitrary requests to every RPC of a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let client: Client;
  const tokens = { teamAdmin: '', platform: '', agent: '' };

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    const team = await harness.team('team-f');
    await attachCompute(team.admin, 'team-f');
    await call(
      team.deployer.webservices,
      team.deployer.webservices.deployWebservice,
      { workspace: 'team-f', name: 'iris', spec: minimalSpec(), overwrite: false },
      team.deployer.metadata,
    );
    const agent = await call(
      team.admin.workspaces,
      team.admin.workspaces.createCredential,
      { workspace: 'team-f', role: Role.ROLE_AGENT, description: '', compute: 'local' },
      team.admin.metadata,
    );
    Object.assign(tokens, {
      teamAdmin: team.tokens.admin,
      platform: harness.adminToken,
      agent: agent.token,
    });
    client = rawClient(harness.address);
  });
  afterAll(async () => {
    client.close();
    await harness.stop();
    await redis.cleanup();
  });

  /** A caller the permission map lets through, so the request reaches the handler. */
  const callerOf = (rpc: RpcMethod): string => {
    const permission = METHOD_PERMISSIONS[rpc.path];
    if (!permission || !can('admin', permission)) return tokens.agent;
    return PLATFORM_ADMIN_METHODS.has(rpc.path) ? tokens.platform : tokens.teamAdmin;
  };

  it.each(RPCS.map((rpc) => [rpc.path, rpc] as const))(
    '%s never answers INTERNAL or UNKNOWN',
    async (_path, rpc) => {
      const { desc, request } = encoder(rpc);
      const bytes = request.map((init) =>
        Buffer.from(toBinary(desc, create(desc, init as Record<string, never>))),
      );
      const messages = rpc.requestStream
        ? fc.array(bytes, { minLength: 1, maxLength: 3 })
        : bytes.map((one) => [one]);
      await fc.assert(
        fc.asyncProperty(messages, async (sent) => {
          const outcome = await rawCall(client, rpc, callerOf(rpc), sent, 1_500);
          expect(outcome.code, outcome.details).not.toMatch(/^(INTERNAL|UNKNOWN)$/);
        }),
        { numRuns: RUNS },
      );
    },
  );

  it('still serves afterwards: health SERVING, and a plain call works', async () => {
    const health = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.alloc(0),
        new Metadata(),
        (error, response) => (error || !response ? reject(error) : resolve(response)),
      ),
    );
    expect([...health]).toEqual([0x08, 0x01]); // status: SERVING
    const outcome = await rawCall(
      client,
      {
        path: '/skiff.v1.WorkspaceService/ListWorkspaces',
        requestStream: false,
        responseStream: false,
      },
      tokens.platform,
      [Buffer.alloc(0)],
    );
    expect(outcome.code).toBe('OK');
  });
});
