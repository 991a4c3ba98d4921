import type { Environment } from '@skiff/proto';
import type { EnvironmentDefinition } from './environment-hash.js';

/**
 * The definition an API environment (`skiff.v1.Environment`, an inference configuration's
 * environment) is hashed as. The control plane hashes a deployment's environment with it, and
 * agents rebuild the definition from the same message to check and build the image that hash
 * names, so both must map the message the same way: this function is that one way. Only the
 * registry's address enters the definition (never its credentials); empty fields are left out.
 */
export function environmentDefinitionOf(env: Environment | undefined): EnvironmentDefinition {
  return {
    baseImage: env?.docker?.baseImage ?? '',
    ...(env?.docker?.baseImageRegistry?.address
      ? { baseImageRegistry: env.docker.baseImageRegistry.address }
      : {}),
    ...(env?.docker?.baseDockerfile ? { baseDockerfile: env.docker.baseDockerfile } : {}),
    ...(env?.extraDockerfileSteps ? { extraDockerfileSteps: env.extraDockerfileSteps } : {}),
    ...(env?.python?.condaDependencies ? { condaDependencies: env.python.condaDependencies } : {}),
    ...(env?.pipRequirements ? { pipRequirements: env.pipRequirements } : {}),
    enableGpu: env?.enableGpu ?? false,
    ...(env?.cudaVersion ? { cudaVersion: env.cudaVersion } : {}),
  };
}
