// Where the local runtime keeps what exists. The directories are the truth (the driver keeps no
// list in memory), so an agent restarted on the same state directory finds every replica:
//
//   <stateDir>/<workspace>/<service>/service.json          desired state (last spec, count)
//   <stateDir>/<workspace>/<service>/models/<folder>/       per-generation model links
//   <stateDir>/<workspace>/<service>/<replicaId>/replica.json   the driver's record
//   <stateDir>/<workspace>/<service>/<replicaId>/launch.json    command, environment, cwd
//   <stateDir>/<workspace>/<service>/<replicaId>/run.json       written by the launcher
//   <stateDir>/<workspace>/<service>/<replicaId>/replica.log    stdout + stderr, stamped
//   <stateDir>/<workspace>/<service>/<replicaId>/work/          the replica's working directory
//   <stateDir>/.launcher/<hash>.cjs                         the launcher script
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@skiff/errors';
import type { ServiceKey } from '../driver.js';
import { isErrno } from './files.js';

// Names become directory names: starting with a letter or digit keeps out '.', '..' and the
// driver's own dot-directories; no separators keeps every path inside the state directory.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const REPLICA_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*-g\d+-[0-9a-f]{8}$/;

/** Throws InvalidArgumentError unless both names can be directory names. */
export function checkServiceKey(key: ServiceKey): void {
  for (const field of ['workspace', 'service'] as const) {
    if (!NAME.test(key[field])) {
      throw new InvalidArgumentError(
        `${field}: expected 1-128 letters, digits, '.', '_' or '-' starting with a letter or digit, got '${key[field]}'`,
        { field },
      );
    }
  }
}

/**
 * A new replica id, `<service>-g<generation>-<8 hex>`: unique across services (it is also
 * what finds a replica's processes by their environment), and readable in logs like a pod name.
 */
export function newReplicaId(service: string, generation: number): string {
  return `${service}-g${generation}-${randomBytes(4).toString('hex')}`;
}

/** `workspace/service`, the key of per-service state in memory. */
export function serviceName(key: ServiceKey): string {
  return `${key.workspace}/${key.service}`;
}

/** Paths of everything under one state directory. */
export class StateLayout {
  constructor(readonly stateDir: string) {}

  serviceDir(key: ServiceKey): string {
    return join(this.stateDir, key.workspace, key.service);
  }
  serviceFile(key: ServiceKey): string {
    return join(this.serviceDir(key), 'service.json');
  }
  modelsDir(key: ServiceKey): string {
    return join(this.serviceDir(key), 'models');
  }
  replicaDir(key: ServiceKey, id: string): string {
    return join(this.serviceDir(key), id);
  }
  replicaFile(key: ServiceKey, id: string): string {
    return join(this.replicaDir(key, id), 'replica.json');
  }
  launchFile(key: ServiceKey, id: string): string {
    return join(this.replicaDir(key, id), 'launch.json');
  }
  runFile(key: ServiceKey, id: string): string {
    return join(this.replicaDir(key, id), 'run.json');
  }
  logFile(key: ServiceKey, id: string): string {
    return join(this.replicaDir(key, id), 'replica.log');
  }
  workDir(key: ServiceKey, id: string): string {
    return join(this.replicaDir(key, id), 'work');
  }
  launcherDir(): string {
    return join(this.stateDir, '.launcher');
  }

  /** Every service that has a directory, with or without a service.json. */
  async services(): Promise<ServiceKey[]> {
    const keys: ServiceKey[] = [];
    for (const workspace of await directories(this.stateDir)) {
      if (!NAME.test(workspace)) continue;
      for (const service of await directories(join(this.stateDir, workspace))) {
        if (NAME.test(service)) keys.push({ workspace, service });
      }
    }
    return keys;
  }

  /** The ids of the replica directories of one service. */
  async replicaIds(key: ServiceKey): Promise<string[]> {
    return (await directories(this.serviceDir(key))).filter((name) => REPLICA_ID.test(name));
  }
}

async function directories(path: string): Promise<string[]> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return [];
    throw error;
  }
}
