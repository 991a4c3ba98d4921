#!/usr/bin/env node
// Fails when the committed generated API code (libs/proto/src/gen, libs/proto/descriptor)
// differs from what `nx run proto:generate` produces from proto/ now.
import { execFileSync } from 'node:child_process';

const run = (cmd, args) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const paths = ['libs/proto/src/gen', 'libs/proto/descriptor'];

run('npx', ['buf', 'generate']);
run('npx', [
  'buf',
  'build',
  '--as-file-descriptor-set',
  '-o',
  'libs/proto/descriptor/skiff-v1.binpb',
]);
const changed = run('git', ['status', '--porcelain', '--', ...paths]).trim();
if (changed) {
  console.error(
    'Generated API code is out of date with proto/. Run `npx nx run proto:generate` and commit:',
  );
  console.error(changed);
  process.exit(1);
}
console.log('generated API code is up to date');
