import { can, type Role } from '@skiff/auth';
import { METHOD_PERMISSIONS, PLATFORM_ADMIN_METHODS } from './permissions.js';

/** Where the generated table sits in docs/control-plane.md. */
export const ROLE_TABLE_START =
  '<!-- role-table:start — generated from apps/control-plane/src/permissions.ts by tools/scripts/role-table.mjs; do not edit by hand -->';
/** End of the generated table. */
export const ROLE_TABLE_END = '<!-- role-table:end -->';

const COLUMNS: readonly { title: string; role: Role; platform: boolean }[] = [
  { title: 'reader', role: 'reader', platform: false },
  { title: 'deployer', role: 'deployer', platform: false },
  { title: 'admin', role: 'admin', platform: false },
  { title: 'platform admin', role: 'admin', platform: true },
  { title: 'agent', role: 'agent', platform: false },
];

/**
 * The "who may call what" table of docs/control-plane.md, from the permission map the server
 * enforces ({@link METHOD_PERMISSIONS}, the roles' permissions, {@link PLATFORM_ADMIN_METHODS}),
 * padded the way prettier pads markdown tables so the docs stay prettier-clean.
 */
export function renderRoleTable(): string {
  const rows = Object.entries(METHOD_PERMISSIONS).map(([method, permission]) => [
    `\`${method.replace(/^\/skiff\.v1\./, '')}\``,
    `\`${permission}\``,
    ...COLUMNS.map(({ role, platform }) =>
      can(role, permission) && (platform || !PLATFORM_ADMIN_METHODS.has(method)) ? 'yes' : '',
    ),
  ]);
  const header = ['RPC', 'permission', ...COLUMNS.map((c) => c.title)];
  const widths = header.map((title, i) =>
    Math.max(3, title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * `markdown` with the text between the role-table markers replaced by `table`.
 * @throws Error when the markers are missing
 */
export function withRoleTable(markdown: string, table: string): string {
  const start = markdown.indexOf(ROLE_TABLE_START);
  const end = markdown.indexOf(ROLE_TABLE_END);
  if (start < 0 || end < start) {
    throw new Error(`the role-table markers are missing (${ROLE_TABLE_START} … ${ROLE_TABLE_END})`);
  }
  return `${markdown.slice(0, start + ROLE_TABLE_START.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}
