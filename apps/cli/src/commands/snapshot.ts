import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  snapshotDigest,
  SnapshotError,
  type SnapshotEntry,
  type SnapshotResult,
} from '@skiff/hashing';
import { Option, type Command } from 'commander';
import { ExitCode, type CliIo } from '../io.js';
import { action, type Invocation } from '../program.js';

type OutputFormat = 'text' | 'json';

async function list(io: CliIo, argument: string, format: OutputFormat): Promise<number> {
  const dir = resolve(io.cwd, argument);
  const problem = await directoryProblem(dir);
  if (problem !== undefined) {
    io.err(`skiff snapshot ls: ${argument}: ${problem}\n`);
    return ExitCode.failed;
  }
  // The listing comes from the same pass that computes the digest, so the two always agree
  // even if the tree changes meanwhile.
  const files: SnapshotEntry[] = [];
  let result: SnapshotResult;
  try {
    result = await snapshotDigest(dir, { onFile: (entry) => files.push(entry) });
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    io.err(`skiff snapshot ls: ${error.message}\n`);
    return ExitCode.failed;
  }
  const totalBytes = files.reduce((sum, file) => sum + file.size, 0);
  if (format === 'json') {
    const report = {
      directory: dir,
      files: files.map(({ path, size, executable }) => ({ path, size, executable })),
      fileCount: result.files,
      totalBytes,
      zipBytes: result.size,
      digest: result.digest,
    };
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return ExitCode.ok;
  }
  const width = String(Math.max(0, ...files.map((file) => file.size))).length;
  for (const file of files)
    io.out(`${String(file.size).padStart(width)}  ${printable(file.path)}\n`);
  io.err(`${result.files} files, ${totalBytes} bytes; zip ${result.size} bytes\n`);
  io.out(`${result.digest}\n`);
  return ExitCode.ok;
}

async function directoryProblem(dir: string): Promise<string | undefined> {
  try {
    return (await stat(dir)).isDirectory() ? undefined : 'not a directory';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? `no such directory (looked for ${dir})`
      : `cannot be read: ${String(error)}`;
  }
}

// One file per line: a name holding a control character (a newline, say) is quoted.
function printable(path: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
}

/** `skiff snapshot ls`: what a deploy would upload from a source directory, and its digest. */
export function registerSnapshotCommands(program: Command, invocation: Invocation): void {
  const snapshot = program
    .command('snapshot')
    .description('Project snapshots: the zip of the source directory that a deploy uploads');

  snapshot
    .command('ls')
    .description(
      'List the files a deploy would upload from <dir> (size in bytes, then path), then the ' +
        'snapshot digest on the last line. Applies .amlignore, or .gitignore in directories ' +
        'without one, with git semantics; never includes .git. Equal files give an equal digest.',
    )
    .argument('<dir>', "source directory (the inference configuration's sourceDirectory)")
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  skiff snapshot ls ./src\n  skiff snapshot ls ./src -o json',
    )
    .action(
      action(invocation, (dir: string, options: { output: OutputFormat }) =>
        list(invocation.io, dir, options.output),
      ),
    );
}
