import { resolve } from 'node:path';
import type { ModelRef } from '@skiff/proto';
import type { Command } from 'commander';
import {
  reportFailure,
  runOnline,
  UsageError,
  withConnectionOptions,
  type ConnectionFlags,
} from '../connection/session.js';
import { ExitCode } from '../io.js';
import { action, type Invocation } from '../program.js';

interface ModelIdFlags extends ConnectionFlags {
  /** `-n NAME:VERSION`. */
  readonly name?: string;
  /** `-i NAME:VERSION`, v1's `--model-id`. */
  readonly modelId?: string;
}

/** The model the command acts on, from `-n` or v1's `-i` (exactly one). */
function modelOf(options: ModelIdFlags, versionRequired: boolean): ModelRef {
  const given = [options.name, options.modelId].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new UsageError("give the model as -n NAME:VERSION (or v1's -i/--model-id NAME:VERSION)");
  }
  const text = given[0] ?? '';
  const match = /^([A-Za-z0-9._-]{1,255})(?::(\d+))?$/.exec(text);
  if (!match?.[1]) throw new UsageError(`-n: expected NAME:VERSION, got '${text}'`);
  const ref = { name: match[1], version: match[2] === undefined ? 0 : Number(match[2]) };
  if (versionRequired && ref.version === 0) {
    throw new UsageError(
      `-n: expected NAME:VERSION, got '${text}' (a version is required, so the latest is never deleted by accident)`,
    );
  }
  return ref;
}

const modelIdOptions = (command: Command) =>
  withConnectionOptions(
    command
      .option('-n, --name <name:version>', 'the model version')
      .option('-i, --model-id <name:version>', "the same, as v1's --model-id"),
  );

/** `skiff model delete` and `skiff model download` (az ml model delete|download). */
export function registerModelFileCommands(model: Command, invocation: Invocation): void {
  const io = invocation.io;

  modelIdOptions(
    model
      .command('delete')
      .description(
        'Delete one model version. Refused (FAILED_PRECONDITION) while a service uses it; its ' +
          'stored files stay when another version shares them.',
      )
      .addHelpText('after', '\nExample:\n  skiff model delete -n iris:1'),
  ).action(
    action(invocation, (options: ModelIdFlags) => {
      let ref: ModelRef;
      try {
        ref = modelOf(options, true);
      } catch (error) {
        return reportFailure(io, error);
      }
      return runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        await client.models.delete({ workspace, name: ref.name, version: ref.version });
        io.out(`Deleted model ${ref.name}:${ref.version}.\n`);
        return ExitCode.ok;
      });
    }),
  );

  modelIdOptions(
    model
      .command('download')
      .description(
        "Download a model version's files into a directory (created when missing). The files " +
          "are kept only when their tree digest equals the model's; existing files are not " +
          'replaced unless --overwrite.',
      )
      .requiredOption('-t, --target-dir <dir>', 'directory to write the files into')
      .option('--overwrite', 'replace files that exist in the target directory')
      .addHelpText('after', '\nExample:\n  skiff model download -n iris:1 -t ./downloaded'),
  ).action(
    action(invocation, (options: ModelIdFlags & { targetDir: string; overwrite?: boolean }) =>
      runOnline(io, options, { workspace: true }, async ({ client, workspace }) => {
        const ref = modelOf(options, false);
        const target = resolve(io.cwd, options.targetDir);
        const downloaded = await client.models.downloadModel(
          { workspace, name: ref.name, version: ref.version },
          target,
          { overwrite: options.overwrite ?? false },
        );
        const m = downloaded.model;
        io.out(
          `Downloaded model ${m.name}:${m.version} (${m.digest}, ${downloaded.files.length} files, ${downloaded.bytes} bytes) to ${options.targetDir}.\n`,
        );
        return ExitCode.ok;
      }),
    ),
  );
}
