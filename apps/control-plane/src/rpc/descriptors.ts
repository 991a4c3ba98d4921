import { readFileSync } from 'node:fs';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { descriptorSetPath } from '@skiff/proto';

let registry: FileRegistry | undefined;

/**
 * The skiff.v1 schema (messages, fields, services) from the descriptor set that
 * `nx run proto:generate` writes beside the ts-proto code, read once. Code that has to know
 * which fields a message has (field masks, int64 checks) asks this, never a JavaScript
 * object's properties: an object also "has" `constructor`, `toString` and `__proto__`.
 */
export function skiffSchema(): FileRegistry {
  registry ??= createFileRegistry(
    fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath)),
  );
  return registry;
}
