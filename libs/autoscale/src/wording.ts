// Number and duration wording for decision reasons, which people read in `skiff service show`
// and in logs: short, no float noise (12.4, not 12.399999999999999).

/** A number with at most 2 decimals below 10, 1 below 100, none above. */
export function formatAmount(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return String(Number(value.toFixed(digits)));
}

/** A duration given in ms, written in seconds to the ms: `1s`, `0.25s`, `6.001s`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** `1 replica`, `2 replicas`. */
export function replicaCount(count: number): string {
  return `${count} ${count === 1 ? 'replica' : 'replicas'}`;
}
