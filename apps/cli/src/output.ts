import { Option } from 'commander';
import { UsageError } from './connection/session.js';
import type { CliIo } from './io.js';

/** `-o table` (human, the default) or `-o json` (every field, for scripts). */
export type OutputFormat = 'table' | 'json';

/** The `-o, --output` option of every command that prints objects. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format')
    .choices(['table', 'json'])
    .default('table');
}

/** Prints a value as indented JSON. */
export function printJson(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows under a header, columns padded to their widest cell; a note when there are none. */
export function printTable(
  io: CliIo,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  none: string,
): void {
  if (rows.length === 0) {
    io.err(`${none}\n`);
    return;
  }
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  io.out(`${line(headers)}\n`);
  for (const row of rows) io.out(`${line(row)}\n`);
}

/** Prints `label: value` lines, labels aligned; empty values are left out. */
export function printFields(io: CliIo, fields: readonly (readonly [string, string])[]): void {
  const shown = fields.filter(([, value]) => value !== '');
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  for (const [label, value] of shown) io.out(`${`${label}:`.padEnd(width + 1)} ${value}\n`);
}

/**
 * A generated enum's JSON name without its prefix, in Azure ML's spelling:
 * `WEBSERVICE_STATE_HEALTHY` → `Healthy`, `CLUSTER_PURPOSE_DEV_TEST` → `DevTest`.
 */
export function enumLabel(jsonName: string, prefix: string): string {
  const rest = jsonName.startsWith(prefix) ? jsonName.slice(prefix.length) : jsonName;
  if (rest === 'UNSPECIFIED' || rest === 'UNRECOGNIZED') return '';
  return rest
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** A timestamp as ISO 8601 (UTC), or '' when unset. */
export function timeText(time: Date | undefined): string {
  return time === undefined ? '' : time.toISOString();
}

/** Every page of a list call, concatenated. */
export async function allPages<T>(
  page: (pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<T[]> {
  const items: T[] = [];
  let token = '';
  do {
    const result = await page(token);
    items.push(...result.items);
    token = result.nextPageToken;
  } while (token !== '');
  return items;
}

/** Parses repeated `key=value` options into a map; the message names the bad one. */
export function keyValues(
  values: readonly string[] | undefined,
  option: string,
): Record<string, string> {
  const map: Record<string, string> = {};
  for (const value of values ?? []) {
    const at = value.indexOf('=');
    if (at <= 0) throw new UsageError(`${option}: expected key=value, got '${value}'`);
    map[value.slice(0, at)] = value.slice(at + 1);
  }
  return map;
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
