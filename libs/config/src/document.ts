// The text of a v1 configuration file, JSON or YAML, to a plain value. The v1 CLI read either
// (PyYAML's safe_load, then json.loads); skiff picks the parser from the file's extension and,
// for other extensions, from the content, so every error can name the format it expected.
import { LineCounter, parseDocument, type ScalarTag, type Tags } from 'yaml';
import { ConfigError } from './issues.js';

/** The two formats a v1 configuration file may be written in. */
export type ConfigFormat = 'json' | 'yaml';

/**
 * The format an extension announces: `.json` → JSON, `.yml`/`.yaml` → YAML, anything else
 * (`.txt`, none) → undefined, meaning "decide from the content".
 */
export function configFormatOfName(file: string): ConfigFormat | undefined {
  const extension = /\.([^./\\]+)$/.exec(file)?.[1]?.toLowerCase();
  if (extension === 'json') return 'json';
  if (extension === 'yml' || extension === 'yaml') return 'yaml';
  return undefined;
}

/** Options of {@link parseConfigDocument}. */
export interface ParseConfigDocumentOptions {
  /** Force a format; default: from `file`'s extension, else from the content. */
  readonly format?: ConfigFormat;
}

// PyYAML (what v1 read YAML with) takes yes/no/on/off as booleans, as YAML 1.1 does. The
// `yaml` package's 1.1 schema goes further than PyYAML (`y`/`n` are booleans, `e0` a float), so
// skiff reads YAML 1.2's core schema with PyYAML's booleans in place of its own.
const pyYamlBoolean = (value: boolean, test: RegExp): ScalarTag => ({
  identify: (v) => v === value,
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test,
  resolve: () => value,
});
const PYYAML_BOOLEANS = [
  pyYamlBoolean(true, /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/),
  pyYamlBoolean(false, /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/),
];

const looksLikeJson = (text: string) => /^\s*[{[]/.test(text);

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8 quotes the start of the text in its message; keep the issue on one line.
    const reason = (error instanceof Error ? error.message : String(error)).replace(
      /\r?\n/g,
      '\\n',
    );
    // A .json file holding YAML is a common slip (copied from a YAML example); say so instead
    // of leaving the user with "Unexpected token" at position 0.
    const yamlHint =
      !looksLikeJson(text) && isYamlMapping(text)
        ? /\.json$/i.test(file)
          ? `; the file holds YAML: rename it to ${file.replace(/\.json$/i, '.yml')} (skiff reads .yml and .yaml files as YAML) or write it as JSON`
          : '; the file holds YAML, expected JSON'
        : '';
    throw new ConfigError([{ file, path: '', message: `not valid JSON: ${reason}${yamlHint}` }], {
      cause: error,
    });
  }
}

function isYamlMapping(text: string): boolean {
  const document = parseDocument(text, { customTags: yamlTags });
  if (document.errors.length > 0) return false;
  const value: unknown = document.toJS();
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function yamlTags(tags: Tags): Tags {
  const isBoolean = (t: Tags[number]) =>
    typeof t === 'string' ? t === 'bool' : t.tag === 'tag:yaml.org,2002:bool';
  return [...tags.filter((t) => !isBoolean(t)), ...PYYAML_BOOLEANS];
}

function parseYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    customTags: yamlTags,
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const [first] = document.errors;
  if (first) {
    const at = lines.linePos(first.pos[0]);
    const where = ` (line ${at.line}, column ${at.col})`;
    throw new ConfigError(
      [{ file, path: '', message: `not valid YAML: ${first.message}${where}` }],
      {
        cause: first,
      },
    );
  }
  // A YAML file may hold several documents ("---"); v1 read only one, and so does skiff.
  return document.toJS({ maxAliasCount: 100 }) as unknown;
}

/**
 * Parses the text of a v1 configuration file written as JSON or YAML into a plain value (then
 * checked by `checkInferenceConfig` / `checkDeploymentConfig`). The format comes from
 * `options.format`, else from `file`'s extension (see {@link configFormatOfName}), else from the
 * content: text starting with `{` or `[` is JSON, anything else YAML. YAML follows PyYAML, which
 * v1 used: `yes`/`no`/`on`/`off` are booleans. A leading byte-order mark is ignored.
 *
 * @throws ConfigError naming `file` and what is wrong, with the line for YAML, and a hint when a
 *   `.json` file holds YAML.
 */
export function parseConfigDocument(
  text: string,
  file: string,
  options: ParseConfigDocumentOptions = {},
): unknown {
  const body = text.replace(/^\uFEFF/, '');
  const format =
    options.format ?? configFormatOfName(file) ?? (looksLikeJson(body) ? 'json' : 'yaml');
  return format === 'json' ? parseJson(body, file) : parseYaml(body, file);
}

/**
 * Parses the text of a JSON configuration file (a leading byte-order mark is ignored). Kept for
 * callers that accept JSON only; {@link parseConfigDocument} also reads YAML.
 *
 * @throws ConfigError naming `file` when the text is not valid JSON.
 */
export function parseConfigJson(text: string, file: string): unknown {
  return parseConfigDocument(text, file, { format: 'json' });
}
