import { status, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

/**
 * Answers every method of `definition` with UNIMPLEMENTED and a sentence saying when it will
 * exist, so clients of a later issue's API get a clear error rather than a missing service.
 */
export function unimplemented(
  definition: ServiceDefinition,
  why: string,
): UntypedServiceImplementation {
  const error = () => Object.assign(new Error(why), { code: status.UNIMPLEMENTED, details: why });
  const implementation: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    implementation[name] = method.responseStream
      ? (call: { emit(event: 'error', e: Error): void }) => call.emit('error', error())
      : (_call: unknown, callback: (e: Error) => void) => callback(error());
  }
  return implementation;
}
