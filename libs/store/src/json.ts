/** Parses a stored JSON value; a corrupt record is a bug worth a loud error, not a 404. */
export function parseRecord<T>(raw: string, what: string): T {
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new Error(`stored ${what} is not valid JSON`, { cause: error });
  }
}
