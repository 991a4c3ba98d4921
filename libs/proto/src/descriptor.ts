import { fileURLToPath } from 'node:url';

/**
 * Path of the binary FileDescriptorSet of skiff.v1 (with imports), written by
 * `nx run proto:generate` next to the generated code. Servers load it for gRPC server
 * reflection.
 */
export const descriptorSetPath: string = fileURLToPath(
  new URL('../descriptor/skiff-v1.binpb', import.meta.url),
);
