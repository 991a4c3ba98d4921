#!/usr/bin/env node
// Writes the role table of docs/control-plane.md from the permission map the control plane
// enforces (apps/control-plane/src/permissions.ts), or with --check fails when the docs differ.
//   node --import @skiff/source-runtime/register tools/scripts/role-table.mjs [--check]
// apps/control-plane/src/role-table.test.ts runs the same check in `npm test`.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderRoleTable, withRoleTable } from '../../apps/control-plane/src/role-table.ts';

const docs = fileURLToPath(new URL('../../docs/control-plane.md', import.meta.url));
const current = readFileSync(docs, 'utf8');
const wanted = withRoleTable(current, renderRoleTable());
if (process.argv.includes('--check')) {
  if (wanted !== current) {
    console.error(
      'docs/control-plane.md: the role table differs from apps/control-plane/src/permissions.ts; run node --import @skiff/source-runtime/register tools/scripts/role-table.mjs',
    );
    process.exit(1);
  }
  console.log('the role table is up to date');
} else if (wanted !== current) {
  writeFileSync(docs, wanted);
  console.log('docs/control-plane.md: role table written');
}
