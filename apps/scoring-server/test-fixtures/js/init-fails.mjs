// Test entry script whose init() fails.
export async function init() {
  throw new Error('cannot reach the feature store');
}

export function run() {
  return 'never';
}
