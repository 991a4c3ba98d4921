// Test entry script in TypeScript, run without a build step.
interface Request {
  readonly values: readonly number[];
}

let scale = 0;

export function init(): void {
  scale = 2;
}

export function run(rawData: string): { doubled: number[] } {
  const request = JSON.parse(rawData) as Request;
  return { doubled: request.values.map((value) => value * scale) };
}
