/** Placeholder replaced by the autoscale implementation. */
export function placeholder(): number {
  return 1;
}
