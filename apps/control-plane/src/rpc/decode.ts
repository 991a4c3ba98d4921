import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  fromBinary,
  ScalarType,
  type DescField,
  type DescMessage,
  type Message,
} from '@bufbuild/protobuf';
import { InvalidArgumentError, ResourceExhaustedError, type SkiffError } from '@skiff/errors';
import { skiffSchema } from './descriptors.js';

/**
 * What a method's deserializer hands the handler instead of a request it could not decode.
 * grpc-js answers a throwing deserializer with INTERNAL "Error deserializing request" before
 * any handler (or audit) runs; returning this instead lets the RPC wrappers (handlers.ts)
 * throw {@link UndecodableRequest.error} inside the call, so the caller gets a status naming
 * the field and the attempt is logged and audited like any refused request.
 */
export class UndecodableRequest {
  constructor(readonly error: SkiffError) {}
}

/** Throws the error of an {@link UndecodableRequest}; returns anything else unchanged. */
export function decoded<T>(request: T | UndecodableRequest): T {
  if (request instanceof UndecodableRequest) throw request.error;
  return request;
}

const INT64: ReadonlySet<ScalarType> = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
]);

/**
 * Byte counts a client declares before it uploads: beyond 2^53 they are certainly over any
 * upload limit, so they get the same RESOURCE_EXHAUSTED the handler gives a merely large one
 * ("uploads over the server's limit are refused before any byte", model.proto).
 */
const DECLARED_SIZES: ReadonlySet<string> = new Set([
  'skiff.v1.ModelUploadHeader.total_bytes',
  'skiff.v1.ModelFile.size_bytes',
  'skiff.v1.SnapshotUploadHeader.size_bytes',
]);

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

function outOfRange(field: DescField, path: string, value: bigint): SkiffError {
  if (DECLARED_SIZES.has(`${field.parent.typeName}.${field.name}`)) {
    return value > 0n
      ? new ResourceExhaustedError(
          `${path}: ${value} bytes is over this server's upload limit (SKIFF_MAX_UPLOAD_BYTES)`,
          { field: path },
        )
      : new InvalidArgumentError(`${path}: expected a byte count of 0 or more, got ${value}`, {
          field: path,
        });
  }
  return new InvalidArgumentError(
    `${path}: ${value} is out of range (this API takes 64-bit integers up to ±(2^53-1))`,
    { field: path },
  );
}

/**
 * The first 64-bit integer of `message` (decoded by protobuf-es, which keeps int64 as bigint)
 * beyond what a JavaScript number holds exactly, as the error naming its field path in proto
 * names (`header.size_bytes`, `files.size_bytes`).
 */
function findOutOfRange(desc: DescMessage, message: Message, prefix = ''): SkiffError | undefined {
  const values = message as unknown as Record<string, unknown>;
  for (const field of desc.fields) {
    const path = `${prefix}${field.name}`;
    let value: unknown;
    if (field.oneof) {
      const group = values[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (group?.case !== field.localName) continue;
      value = group.value;
    } else {
      value = values[field.localName];
    }
    if (value === undefined) continue;
    const check = (item: unknown): SkiffError | undefined => {
      if (typeof item === 'bigint') {
        return item > MAX || item < -MAX ? outOfRange(field, path, item) : undefined;
      }
      return undefined;
    };
    const nested = (desc: DescMessage | undefined, item: unknown) =>
      desc && typeof item === 'object' && item !== null
        ? findOutOfRange(desc, item as Message, `${path}.`)
        : undefined;
    let found: SkiffError | undefined;
    switch (field.fieldKind) {
      case 'scalar':
        found = INT64.has(field.scalar) ? check(value) : undefined;
        break;
      case 'message':
        found = nested(field.message, value);
        break;
      case 'list':
        for (const item of value as unknown[]) {
          found ??=
            field.listKind === 'message'
              ? nested(field.message, item)
              : field.listKind === 'scalar' && INT64.has(field.scalar)
                ? check(item)
                : undefined;
        }
        break;
      case 'map':
        // Keys arrive as strings (ts-proto decodes int64 keys with the same check; none here).
        for (const item of Object.values(value as Record<string, unknown>)) {
          found ??=
            field.mapKind === 'message'
              ? nested(field.message, item)
              : field.mapKind === 'scalar' && INT64.has(field.scalar)
                ? check(item)
                : undefined;
        }
        break;
      default:
        break;
    }
    if (found) return found;
  }
  return undefined;
}

/**
 * Why `bytes` is no `desc` message ts-proto can decode: a 64-bit integer out of range (by
 * field), or bytes that are not such a message at all.
 */
export function explainUndecodable(desc: DescMessage, bytes: Uint8Array): SkiffError {
  let message: Message;
  try {
    message = fromBinary(desc, bytes);
  } catch (cause) {
    return new InvalidArgumentError(`request: not a valid ${desc.typeName} message`, { cause });
  }
  return (
    findOutOfRange(desc, message) ??
    new InvalidArgumentError(`request: not a valid ${desc.typeName} message`)
  );
}

/**
 * `definition` with every method's request deserializer guarded: what ts-proto cannot decode
 * (it refuses int64 values beyond ±(2^53-1) rather than round them, we keep
 * forceLong=number) becomes an {@link UndecodableRequest}. Only failing requests pay for the
 * second decode, with protobuf-es and the descriptor set, that finds the field.
 */
export function withDecodeErrors<T extends ServiceDefinition>(definition: T): T {
  const schema = skiffSchema();
  const guarded: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition)) {
    const [, service, name] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
    const input = schema.getService(service ?? '')?.methods.find((m) => m.name === name)?.input;
    if (!input) throw new Error(`${method.path} is missing from the descriptor set`);
    const decode = method.requestDeserialize;
    guarded[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch {
          return new UndecodableRequest(explainUndecodable(input, bytes));
        }
      },
    };
  }
  return guarded as T;
}
