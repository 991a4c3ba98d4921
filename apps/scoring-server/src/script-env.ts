// The environment an entry script sees: the replica's own, plus the AZUREML_* variables (and
// WORKER_COUNT) that Azure ML v1 containers set and v1 scripts read.
import { isAbsolute, relative, sep } from 'node:path';
import type { ReplicaFiles } from './artifacts/replica-files.js';

/**
 * `env` with the v1 variables set from where the replica's files are:
 * - `AZUREML_MODEL_DIR`: the model folder (one model) or the folder of all models;
 * - `AZUREML_SOURCE_DIRECTORY`: the source directory, absolute;
 * - `AZUREML_ENTRY_SCRIPT`: the entry script relative to it, as `entryScript` is relative to
 *   `sourceDirectory` in a v1 inference config (absolute when it lies outside);
 * - `WORKER_COUNT`: the v1 inference server's name for its worker count; here the number of
 *   entry-script workers (processes or threads) of this replica.
 * Values the caller's environment gives for these names are replaced: the script must see
 * where its files really are.
 */
export function scriptEnvironment(
  env: NodeJS.ProcessEnv,
  files: Pick<ReplicaFiles, 'entryScript' | 'sourceDir' | 'modelDir'>,
  workers: number,
): NodeJS.ProcessEnv {
  const inSource = relative(files.sourceDir, files.entryScript);
  const entryScript =
    inSource === '..' || inSource.startsWith(`..${sep}`) || isAbsolute(inSource)
      ? files.entryScript
      : inSource;
  const scriptEnv: NodeJS.ProcessEnv = {
    ...env,
    AZUREML_SOURCE_DIRECTORY: files.sourceDir,
    AZUREML_ENTRY_SCRIPT: entryScript,
    WORKER_COUNT: String(workers),
  };
  if (files.modelDir) scriptEnv['AZUREML_MODEL_DIR'] = files.modelDir;
  return scriptEnv;
}
