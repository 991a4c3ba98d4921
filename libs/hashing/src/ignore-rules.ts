import ignore, { type Ignore } from 'ignore';

// Git's exclusion semantics over nested ignore files, built on the `ignore` package:
// - patterns of a file in directory D match paths relative to D;
// - the deepest file with a matching pattern decides, and inside a file the last match wins;
// - a path inside an excluded directory is never reached (the walk prunes the directory), so
//   only the path itself is matched here.
// `ignore` answers for one rule set and also reports a path as ignored when a parent matches.
// That is git's answer too unless a deeper file re-included the parent (`build/` at the root,
// `!build/` in `a/.gitignore`); for that case `selfVerdict` matches the path alone.

/** The rules of one ignore file and the directory (relative, POSIX, '' for the root) they apply to. */
export class IgnoreLevel {
  private readonly rules: Ignore;
  private readonly lines: readonly string[];
  private singleRules: Ignore[] | undefined;

  constructor(
    readonly base: string,
    text: string,
  ) {
    // Case-sensitive, as git is on the systems skiff builds on; the snapshot must not depend
    // on the client's file system.
    this.rules = ignore({ ignorecase: false }).add(text);
    this.lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  }

  /**
   * true: excluded by this file; false: re-included by a negation; undefined: no pattern
   * matches. `relative` is relative to `base`; directories end in '/'.
   */
  verdict(relative: string): boolean | undefined {
    const trimmed = relative.endsWith('/') ? relative.slice(0, -1) : relative;
    const slash = trimmed.lastIndexOf('/');
    if (slash !== -1 && this.rules.test(trimmed.slice(0, slash + 1)).ignored) {
      return this.selfVerdict(relative);
    }
    const result = this.rules.test(relative);
    return result.ignored ? true : result.unignored ? false : undefined;
  }

  // Each rule on its own, negated: a lone negative rule reports `unignored` exactly when it
  // matches the path itself, since nothing else can be ignored.
  private selfVerdict(relative: string): boolean | undefined {
    this.singleRules ??= this.lines.map((line) =>
      ignore({ ignorecase: false }).add(line.startsWith('!') ? line : `!${line}`),
    );
    for (let index = this.lines.length - 1; index >= 0; index--) {
      if (this.singleRules[index]?.test(relative).unignored) {
        return !this.lines[index]?.startsWith('!');
      }
    }
    return undefined;
  }
}

/**
 * Whether `path` (relative to the tree root, POSIX; directories end in '/') is excluded by the
 * ignore files of its ancestors, `levels` ordered from the root down.
 */
export function isExcluded(levels: readonly IgnoreLevel[], path: string): boolean {
  for (let index = levels.length - 1; index >= 0; index--) {
    const level = levels[index];
    if (!level) continue;
    const relative = level.base === '' ? path : path.slice(level.base.length + 1);
    const verdict = level.verdict(relative);
    if (verdict !== undefined) return verdict;
  }
  return false;
}
