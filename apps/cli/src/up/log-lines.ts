// The apps log pino JSON; `skiff up` shows it as one readable line per entry:
// `12:34:56 INFO  message key=value ...`. Anything that is not pino's JSON passes unchanged.

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIPPED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

/** One log line as the terminal shows it. */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry['msg'] !== 'string' && typeof entry['level'] !== 'number') return line;
  const time =
    typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 19) : '';
  const level = LEVELS[Number(entry['level'])] ?? String(entry['level'] ?? '');
  const fields = Object.entries(entry)
    .filter(([key]) => !SKIPPED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [time, level.padEnd(5), String(entry['msg'] ?? ''), ...fields].filter(Boolean).join(' ');
}
