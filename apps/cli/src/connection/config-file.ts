import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { CliIo } from '../io.js';

/** What `skiff login` remembers: where the control plane is, the credential, the workspace. */
export const loginConfig = z.object({
  /** As given to `--endpoint`: `host:port`, `http://host:port` or `https://host[:port]`. */
  endpoint: z.string().min(1),
  token: z.string().min(1),
  workspace: z.string().min(1).optional(),
});
export type LoginConfig = z.infer<typeof loginConfig>;

/** `$SKIFF_CONFIG_DIR/config.json`, else `~/.config/skiff/config.json`. */
export function configFilePath(io: CliIo): string {
  const dir = io.env['SKIFF_CONFIG_DIR'] || join(io.env['HOME'] || homedir(), '.config', 'skiff');
  return join(dir, 'config.json');
}

/** The saved login, or undefined when there is none. A damaged file is an error naming it. */
export async function readLoginConfig(io: CliIo): Promise<LoginConfig | undefined> {
  const path = configFilePath(io);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not JSON; run skiff login again`, { cause: error });
  }
  const result = loginConfig.safeParse(parsed);
  if (!result.success) throw new Error(`${path}: not a skiff login; run skiff login again`);
  return result.data;
}

/**
 * Saves the login readable by its owner only (0600, directory 0700): it holds a credential.
 * Written to a temporary file first and renamed, so a crash never leaves half a file.
 */
export async function writeLoginConfig(io: CliIo, config: LoginConfig): Promise<string> {
  const path = configFilePath(io);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // An existing file keeps its mode through rename; the mode of the new one is what counts.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
  return path;
}
