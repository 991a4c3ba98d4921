import { parse, YAMLParseError } from 'yaml';
import { type CanonicalValue } from './canonical-json.js';
import { EnvironmentDefinitionError } from './errors.js';
import { normalizePipLines } from './pip.js';

/**
 * Parses conda environment YAML into a canonical structure. What is erased: formatting,
 * comments, quoting, key order of every mapping, the order of `dependencies` (the solver takes
 * them as a set) and of each `pip:` list, duplicate entries. What is kept: `channels` order
 * (channel priority decides which build the solver picks), every other key and value, and
 * every scalar as written (`3.10` stays `"3.10"`: the YAML failsafe schema reads all scalars as
 * strings, so nothing is re-typed or rounded).
 */
export function normalizeCondaYaml(text: string): CanonicalValue {
  let document: unknown;
  try {
    document = parse(text, { schema: 'failsafe', uniqueKeys: true });
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message : String(error);
    throw new EnvironmentDefinitionError('condaDependencies', `not valid YAML: ${detail}`, {
      cause: error,
    });
  }
  if (document === null || document === undefined) return null;
  if (!isMapping(document)) {
    throw new EnvironmentDefinitionError(
      'condaDependencies',
      'a conda environment file must be a YAML mapping (name, channels, dependencies, ...)',
    );
  }
  const result: Record<string, CanonicalValue> = {};
  for (const [key, value] of Object.entries(document)) {
    if (key === 'dependencies' && Array.isArray(value)) {
      result[key] = normalizeDependencies(value);
    } else if (key === 'channels' && Array.isArray(value)) {
      result[key] = value.map((channel) =>
        typeof channel === 'string' ? channel.trim() : generic(channel),
      );
    } else {
      result[key] = generic(value);
    }
  }
  return result;
}

function normalizeDependencies(items: readonly unknown[]): CanonicalValue {
  const specs = new Set<string>();
  const others = new Map<string, CanonicalValue>();
  for (const item of items) {
    if (typeof item === 'string') {
      const spec = item.trim().replace(/\s+/g, ' ');
      if (spec !== '') specs.add(spec);
      continue;
    }
    const value = isPipSection(item)
      ? { pip: normalizePipLines(item.pip.filter((line) => typeof line === 'string')) }
      : generic(item);
    others.set(JSON.stringify(value), value);
  }
  const sortedOthers = [...others.entries()].sort(([a], [b]) => compare(a, b)).map(([, v]) => v);
  return [...[...specs].sort(compare), ...sortedOthers];
}

function isPipSection(item: unknown): item is { pip: unknown[] } {
  return (
    isMapping(item) &&
    Object.keys(item).length === 1 &&
    Array.isArray(item['pip']) &&
    item['pip'].every((line) => typeof line === 'string')
  );
}

// With the failsafe schema every scalar is a string, so only strings, lists and maps occur.
function generic(value: unknown): CanonicalValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(generic);
  if (isMapping(value)) {
    const out: Record<string, CanonicalValue> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = generic(inner);
    return out;
  }
  return null;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
