import { ConfigError } from './issues.js';

/**
 * Parses the text of a JSON configuration file. A leading byte-order mark is ignored (v1 files
 * saved by Windows editors often start with one); invalid JSON becomes a {@link ConfigError}
 * naming `file`.
 */
export function parseConfigJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ file, path: '', message: `not valid JSON: ${reason}` }], {
      cause: error,
    });
  }
}
