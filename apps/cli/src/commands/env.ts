import { ConfigError, checkInferenceConfig, resolveEnvironmentDefinition } from '@skiff/config';
import { environmentHash } from '@skiff/hashing';
import type { Command } from 'commander';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';
import { configFile, readConfigJson, readerBeside, reportIssues } from './config.js';

async function hash(io: CliIo, options: { readonly ic: string }): Promise<number> {
  const file = configFile(io, options.ic);
  try {
    const result = checkInferenceConfig(await readConfigJson(file), { file: file.label });
    if (!result.ok) return reportIssues(io, result.issues);
    const definition = await resolveEnvironmentDefinition(result.config, readerBeside(file), {
      file: file.label,
    });
    io.out(`${environmentHash(definition)}\n`);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof ConfigError) return reportIssues(io, error.issues);
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
      'inference configuration (inferenceconfig.json), either v1 shape',
    )
    .addHelpText('after', '\nExample:\n  skiff env hash --ic inferenceconfig.json')
    .action(action(invocation, (options: { ic: string }) => hash(invocation.io, options)));
}
