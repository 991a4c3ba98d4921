import { checkInferenceConfigFile, configFileAt } from '@skiff/config';
import { environmentHash } from '@skiff/hashing';
import type { Command } from 'commander';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';
import { reportIssues } from './config.js';

async function hash(io: CliIo, options: { readonly ic: string }): Promise<number> {
  const file = configFileAt(io.cwd, options.ic);
  // The same reader as `skiff model deploy`, so the hash printed is the image tag it builds.
  const result = await checkInferenceConfigFile(file);
  if (!result.ok) return reportIssues(io, result.issues);
  try {
    io.out(`${environmentHash(result.config.environment)}\n`);
    return ExitCode.ok;
  } catch (error) {
    // The hashing library rejects what it cannot normalize (e.g. conda YAML that is not a
    // mapping); that is a problem with the user's files, not a crash.
    io.err(`${file.label}: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failed;
  }
}

/** `skiff env hash`: the environment hash (the image tag) of an inference configuration. */
export function registerEnvCommands(program: Command, invocation: Invocation): void {
  const env = program
    .command('env')
    .description('Environments: the image a scoring replica runs in');

  env
    .command('hash')
    .description(
      'Print the environment hash of an inference configuration: base image and registry, ' +
        'Dockerfile steps and conda definition. Equal environments hash equally; the hash is ' +
        'the image tag, so a second deploy with the same hash never builds.',
    )
    .requiredOption(
      '--ic <file>',
      'inference configuration (.json, .yml or .yaml), either v1 shape',
    )
    .addHelpText('after', '\nExample:\n  skiff env hash --ic inferenceconfig.json')
    .action(action(invocation, (options: { ic: string }) => hash(invocation.io, options)));
}
