// Starts an app's entry point. In a checkout (src/ present) it runs the TypeScript sources
// through tsx, with workspace packages resolved to their sources by the `@skiff/source` export
// condition, so `npx skiff` works right after `npm ci`. In an image built from dist/ (no src/),
// it imports the compiled JavaScript.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

let registered = false;

/** Makes `import '@skiff/x'` resolve to libs/x/src/index.ts and lets Node load TypeScript. */
export async function registerSourceRuntime() {
  if (registered) return;
  registered = true;
  register('./source-condition-hook.mjs', import.meta.url);
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
}

/**
 * Imports `<appRoot>/src/<entry>.ts` (sources) or `<appRoot>/dist/<entry>.js` (built).
 * @param {string} binUrl import.meta.url of a file in `<appRoot>/bin/`
 * @param {string} entry entry module name without extension, e.g. 'main'
 */
export async function runApp(binUrl, entry) {
  const source = new URL(`../src/${entry}.ts`, binUrl);
  if (existsSync(fileURLToPath(source))) {
    await registerSourceRuntime();
    return import(source.href);
  }
  return import(new URL(`../dist/${entry}.js`, binUrl).href);
}
