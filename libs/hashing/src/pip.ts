// Normalization of pip requirement text (requirements.txt, or the `pip:` list inside a conda
// file) into a sorted set of canonical lines. Only differences that cannot change what pip
// installs are erased; anything we do not understand is kept verbatim (whitespace collapsed),
// so an unknown construct can cost a rebuild but never a wrong cache hit.

const NAME_WITH_REST = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/s;
const ARCHIVE_SUFFIX = /\.(?:whl|zip|tar\.gz|tgz|tar\.bz2|tar\.xz)$/i;
const COMPARISON = /\s*(===|==|!=|~=|<=|>=|<|>)\s*/g;

/** PEP 503 name normalization: case-insensitive, runs of `-`, `_`, `.` are one `-`. */
export function normalizePackageName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/**
 * Turns requirements.txt text into its canonical form: comments, blank lines and line
 * continuations removed, each requirement normalized, duplicates dropped, sorted. pip installs
 * a requirements file as one set, so line order carries no meaning.
 */
export function normalizePipRequirements(text: string): string[] {
  return normalizePipLines(logicalLines(text));
}

/** Canonical, sorted, duplicate-free form of individual requirement lines. */
export function normalizePipLines(lines: readonly string[]): string[] {
  const out = new Set<string>();
  for (const raw of lines) {
    const line = stripComment(raw).trim();
    if (line !== '') out.add(normalizeRequirementLine(line));
  }
  return [...out].sort();
}

// pip joins a line ending in a backslash with the next one before anything else.
function logicalLines(text: string): string[] {
  return text.replace(/\\\r?\n/g, '').split(/\r?\n/);
}

// pip's rule: `#` at the start of a line or after whitespace begins a comment; a `#` inside a
// URL fragment (`...#egg=name`) does not.
function stripComment(line: string): string {
  return line.replace(/(^|\s)#.*$/, '');
}

function collapse(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/** Canonical form of one requirement line (comment already removed, not blank). */
export function normalizeRequirementLine(line: string): string {
  const text = collapse(line);
  // Options (-r, -e, --index-url ...), local paths, URLs and archives are kept as written.
  if (text.startsWith('-') || ARCHIVE_SUFFIX.test(text.split(/[\s;]/)[0] ?? '')) return text;
  const optionsAt = text.search(/\s--?[A-Za-z]/);
  const requirement = optionsAt === -1 ? text : text.slice(0, optionsAt);
  const options = optionsAt === -1 ? '' : text.slice(optionsAt);
  const match = NAME_WITH_REST.exec(requirement);
  if (!match) return text;
  const [, name = '', extrasText, rest = ''] = match;
  if (rest !== '' && !/^[<>=!~;@(,]/.test(rest)) return text; // e.g. git+https://...
  const extras = normalizeExtras(extrasText);
  let result = normalizePackageName(name) + extras;
  if (rest.startsWith('@')) {
    result += ` @ ${collapse(rest.slice(1))}`;
  } else {
    const semicolon = rest.indexOf(';');
    const versions = semicolon === -1 ? rest : rest.slice(0, semicolon);
    const marker = semicolon === -1 ? '' : normalizeMarker(rest.slice(semicolon + 1));
    result += normalizeSpecifiers(versions);
    if (marker !== '') result += `; ${marker}`;
  }
  return result + options;
}

function normalizeExtras(extrasText: string | undefined): string {
  if (!extrasText) return '';
  const extras = [
    ...new Set(
      extrasText
        .slice(1, -1)
        .split(',')
        .map((extra) => normalizePackageName(extra.trim()))
        .filter((extra) => extra !== ''),
    ),
  ].sort();
  return extras.length === 0 ? '' : `[${extras.join(',')}]`;
}

// `>= 1.0 , <2` and `<2,>=1.0` (and PEP 508's parenthesized form) are one specifier set.
function normalizeSpecifiers(text: string): string {
  let compact = text.replace(/\s+/g, '');
  if (compact.startsWith('(') && compact.endsWith(')')) compact = compact.slice(1, -1);
  return compact
    .split(',')
    .filter((spec) => spec !== '')
    .sort()
    .join(',');
}

// PEP 508 markers: whitespace around operators and quote style are not significant.
function normalizeMarker(text: string): string {
  return collapse(text)
    .replace(/'([^'"]*)'/g, '"$1"')
    .replace(COMPARISON, '$1')
    .replace(/\(\s+/g, '(')
    .replace(/\s+\)/g, ')');
}
