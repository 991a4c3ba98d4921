import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ALL_WORKSPACES,
  generateMasterKeySpec,
  issueTeamCredential,
  MasterKeyRing,
  parseTeamCredentialToken,
  TokenSigningKeyRing,
  type StoredTeamCredential,
} from '@skiff/auth';
import type { Store } from '@skiff/store';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';

/**
 * The master keys: from SKIFF_MASTER_KEYS, else from `<dataDir>/master-key`, created (0600) on
 * first start. Losing this file loses every stored service key; back it up with Redis.
 */
export async function loadMasterKeys(
  spec: string | undefined,
  dataDir: string,
  log: Logger,
): Promise<MasterKeyRing> {
  if (spec) return MasterKeyRing.parse(spec);
  const file = join(dataDir, 'master-key');
  try {
    return MasterKeyRing.parse((await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const generated = generateMasterKeySpec('k1');
  await writeFile(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  log.warn(
    { file },
    'generated a master key; keep this file safe and back it up together with Redis',
  );
  return MasterKeyRing.parse(generated);
}

/**
 * Makes sure a platform admin credential exists. With SKIFF_ADMIN_TOKEN the given token is
 * registered (idempotently); without it, one is generated on the first start only and printed
 * once on stderr — later starts find it stored and print nothing.
 */
export async function ensureAdminCredential(
  store: Store,
  token: string | undefined,
  now: Date,
  print: (line: string) => void,
): Promise<void> {
  if (token) {
    const parsed = parseTeamCredentialToken(token);
    if (!parsed) throw new Error('SKIFF_ADMIN_TOKEN: expected skf_<24 hex>_<43 base64url>');
    const existing = await store.credentials.get(parsed.id);
    if (existing) return;
    const credential: StoredTeamCredential = {
      ...issueTeamCredential({
        workspace: ALL_WORKSPACES,
        role: 'admin',
        description: 'platform admin (SKIFF_ADMIN_TOKEN)',
        now,
      }).credential,
      id: parsed.id,
      secretSha256: createHash('sha256').update(parsed.secret).digest('base64url'),
    };
    await store.credentials.save({ credential, createdBy: 'bootstrap' });
    return;
  }
  if (!(await store.claimOnce('bootstrap-admin', 10 * 365 * 86_400))) return;
  const issued = issueTeamCredential({
    workspace: ALL_WORKSPACES,
    role: 'admin',
    description: 'platform admin (generated on first start)',
    now,
  });
  await store.credentials.save({ credential: issued.credential, createdBy: 'bootstrap' });
  print(
    `skiff control plane: generated the platform admin credential (shown once; store it safely):\n  SKIFF_TOKEN=${issued.token}\n`,
  );
}

/** The token signing key ring shared by every control-plane process (created on first start). */
export async function loadTokenKeys(
  store: Store,
  masterKeys: MasterKeyRing,
  lifetimeSeconds: number,
): Promise<TokenSigningKeyRing> {
  const existing = await store.signingKeys.get();
  if (existing) return TokenSigningKeyRing.import(JSON.parse(existing), masterKeys);
  const created = await TokenSigningKeyRing.create({ tokenLifetimeSeconds: lifetimeSeconds });
  const stored = await store.signingKeys.initialize(
    JSON.stringify(await created.export(masterKeys)),
  );
  return TokenSigningKeyRing.import(JSON.parse(stored), masterKeys);
}
