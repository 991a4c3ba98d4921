// Each replica runs under a small launcher process that outlives the agent. The scoring server
// cannot write to pipes of the agent (they break when the agent restarts) nor straight to a file
// (the log must say, per line, when and on which stream it was written), so the launcher owns
// the pipes: it stamps every line into replica.log, learns the port from the server's
// `listening` line (SKIFF_PORT=0 lets the kernel choose, so two replicas never race for a
// port), forwards SIGTERM once (the server drains on the first and dies on a second), and
// records how the server ended in run.json. It leads the replica's process group.
//
// It is plain CommonJS with no dependencies, installed into the state directory under a name
// derived from its content: it must run under bare Node whether the agent runs from TypeScript
// sources or from dist/ (where tsc would not copy a .cjs file).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './files.js';
import type { StateLayout } from './layout.js';
import { processStart, type ProcessIdentity } from './processes.js';
import type { LaunchRecord } from './records.js';

const LAUNCHER_SOURCE = String.raw`'use strict';
// skiff local replica launcher (libs/workload/src/local/launcher.ts):
// argv = dir maxLogBytes command args...
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [dir, maxLogBytes, command, ...args] = process.argv.slice(2);
const logPath = path.join(dir, 'replica.log');
const maxLog = Number(maxLogBytes) > 0 ? Number(maxLogBytes) : Infinity;
let log = fs.openSync(logPath, 'a', 0o600);
let logSize = fs.fstatSync(log).size;
const run = { launcherPid: process.pid, serverPid: 0, port: 0, exit: null };

function save() {
  const file = path.join(dir, 'run.json');
  const temporary = file + '.' + process.pid + '.tmp';
  fs.writeFileSync(temporary, JSON.stringify(run) + '\n', { mode: 0o600 });
  fs.renameSync(temporary, file);
}

function append(stream, lines) {
  if (lines.length === 0) return;
  const time = new Date().toISOString();
  let text = '';
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    text += time + ' ' + stream + ' ' + line + '\n';
    if (stream === 'stdout' && run.port === 0 && line.includes('"listening"')) {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening' && Number.isInteger(entry.port) && entry.port > 0) {
          run.port = entry.port;
          save();
        }
      } catch {}
    }
  }
  try {
    fs.writeSync(log, text);
    logSize += Buffer.byteLength(text);
    if (logSize >= maxLog) {
      fs.closeSync(log);
      fs.renameSync(logPath, logPath + '.1');
      log = fs.openSync(logPath, 'a', 0o600);
      logSize = 0;
    }
  } catch {}
}

function follow(readable, stream) {
  let rest = '';
  readable.setEncoding('utf8');
  readable.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    // A line without an end is written once it is long, so memory stays bounded.
    if (rest.length > 65536) {
      lines.push(rest);
      rest = '';
    }
    append(stream, lines);
  });
  readable.on('end', () => {
    if (rest !== '') append(stream, [rest]);
    rest = '';
  });
}

save();
const server = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
run.serverPid = server.pid || 0;
save();
follow(server.stdout, 'stdout');
follow(server.stderr, 'stderr');

let forwarded = false;
process.on('SIGTERM', () => {
  if (forwarded) return;
  forwarded = true;
  server.kill('SIGTERM');
});
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});

let finished = false;
function finish(code, signal, error) {
  if (finished) return;
  finished = true;
  run.exit = { code: code, signal: signal, error: error };
  save();
  fs.closeSync(log);
  process.exit(0);
}
server.on('error', (error) => finish(null, null, String(error && error.message)));
server.on('close', (code, signal) => finish(code, signal, null));
// 'close' waits for the pipes; a grandchild holding them must not keep the exit unrecorded.
server.on('exit', (code, signal) => setTimeout(() => finish(code, signal, null), 2000));
`;

/** Writes the launcher into the state directory (once per content) and returns its path. */
export async function installLauncher(layout: StateLayout): Promise<string> {
  const hash = createHash('sha256').update(LAUNCHER_SOURCE).digest('hex').slice(0, 16);
  const dir = layout.launcherDir();
  const file = join(dir, `${hash}.cjs`);
  try {
    await stat(file);
    return file;
  } catch {
    // not installed yet
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, LAUNCHER_SOURCE);
  return file;
}

/**
 * Starts a replica's launcher detached (its own process group and session, so it survives the
 * agent and a Ctrl-C of the agent's terminal), with no pipes to the agent.
 */
export async function spawnLauncher(
  launcherPath: string,
  replicaDir: string,
  maxLogBytes: number,
  launch: LaunchRecord,
): Promise<ProcessIdentity> {
  const argv = [launcherPath, replicaDir, String(maxLogBytes), launch.command, ...launch.args];
  const child = spawn(process.execPath, argv, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  await once(child, 'spawn'); // rejects with the spawn error
  const pid = child.pid ?? 0;
  return { pid, start: (await processStart(pid)) ?? '' };
}
