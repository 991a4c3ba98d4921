/** One problem found in a configuration file. */
export interface ConfigIssue {
  /** The file the problem is in, as the caller named it (e.g. `deploymentconfig.json`). */
  readonly file: string;
  /**
   * Dotted JSON path of the offending field (`autoScaler.targetUtilization`,
   * `environment.python.condaDependencies.dependencies.1`); empty for the document itself.
   */
  readonly path: string;
  /** What was expected and what was found, e.g. `expected an integer from 1 to 100, got 150`. */
  readonly message: string;
}

/** Formats one issue as `file: path: message` (or `file: message` for the whole document). */
export function formatConfigIssue(issue: ConfigIssue): string {
  return issue.path === ''
    ? `${issue.file}: ${issue.message}`
    : `${issue.file}: ${issue.path}: ${issue.message}`;
}

/**
 * A configuration file (or several) is invalid. Carries every problem found, not just the
 * first, so a user fixes them all in one round; the message lists one issue per line.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Every problem found: per file, field problems first, then rules between fields. Never empty. */
  readonly issues: readonly ConfigIssue[];

  /**
   * @param issues - the problems; at least one.
   * @param options - `cause`: the underlying error, e.g. a failed file read.
   */
  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    if (issues.length === 0) throw new TypeError('ConfigError needs at least one issue');
    super(issues.map(formatConfigIssue).join('\n'), options);
    this.issues = issues;
  }
}
