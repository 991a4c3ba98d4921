import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDir } from './data-dir.js';
import { curlLine, modelNameFor, serviceNameFor } from './deploy-project.js';
import { DataDirBusyError, UpLock, readLock } from './lock.js';
import { formatLogLine } from './log-lines.js';
import { busyPorts, freePort } from './ports.js';
import { chooseRedis } from './redis.js';

describe('skiff up, the parts without processes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-up-unit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('takes a data directory once: a second start is refused naming the holder', async () => {
    const dataDir = new DataDir(join(dir, 'busy'));
    await dataDir.create();
    const { lock, stale } = await UpLock.acquire(dataDir);
    expect(stale).toBeUndefined();
    await expect(UpLock.acquire(dataDir)).rejects.toThrow(
      new DataDirBusyError(
        `skiff up is already running on ${dataDir.path} (pid ${process.pid}, started ${(await readLock(dataDir))!.startedAt}): stop it with 'skiff down --data-dir ${dataDir.path}', or use another --data-dir`,
      ),
    );
    await lock.setChild('agent', { pid: 1234, start: '99' });
    expect((await readLock(dataDir))!.children).toEqual({ agent: { pid: 1234, start: '99' } });
    await lock.release();
    expect(await readLock(dataDir)).toBeUndefined();
  });

  it('replaces the lock of a skiff up that no longer runs, and hands it over to be cleaned up', async () => {
    const dataDir = new DataDir(join(dir, 'stale'));
    await dataDir.create();
    // A process that has exited: its pid is free (or reused with another start time).
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const record = {
      pid: gone.pid,
      start: '1',
      startedAt: '2026-01-01T00:00:00.000Z',
      children: { redis: { pid: gone.pid, start: '1' } },
    };
    await writeFile(dataDir.lockFile, JSON.stringify(record));
    const { lock, stale } = await UpLock.acquire(dataDir);
    expect(stale).toEqual(record);
    expect((await readLock(dataDir))!.pid).toBe(process.pid);
    await lock.release();
  });

  it('names every busy or doubly planned port before anything starts', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const taken = (server.address() as { port: number }).port;
    const free = await freePort('127.0.0.1');
    try {
      expect(
        await busyPorts('127.0.0.1', [
          { port: taken, what: 'the router', option: '--port' },
          { port: free, what: 'the control plane gRPC API', option: '--grpc-port' },
          { port: free, what: 'the agent /metrics', option: '--agent-port' },
        ]),
      ).toEqual([
        `port ${taken} on 127.0.0.1 (the router) is in use: stop what listens there, or choose another with --port`,
        `port ${free} is given to both the control plane gRPC API (--grpc-port) and the agent /metrics (--agent-port)`,
      ]);
    } finally {
      server.close();
    }
  });

  it('chooses Redis: a given URL, else what the data directory used, else embedded when nothing answers', async () => {
    const nothing = { url: undefined, previous: undefined, hasEmbeddedData: false };
    expect(await chooseRedis({ ...nothing, mode: 'embedded', url: 'redis://x:1' })).toEqual({
      mode: 'embedded',
    });
    expect(await chooseRedis({ ...nothing, mode: 'auto', url: 'redis://x:1' })).toEqual({
      mode: 'external',
      url: 'redis://x:1',
    });
    expect(
      await chooseRedis({
        ...nothing,
        mode: 'auto',
        previous: { mode: 'external', url: 'redis://y:2' },
      }),
    ).toEqual({ mode: 'external', url: 'redis://y:2' });
    expect(await chooseRedis({ ...nothing, mode: 'auto', hasEmbeddedData: true })).toEqual({
      mode: 'embedded',
    });
    expect(await chooseRedis({ ...nothing, mode: 'external' })).toEqual({
      mode: 'external',
      url: 'redis://127.0.0.1:6379',
    });
  });

  it('names services and models after their folders', () => {
    expect(serviceNameFor('iris-python')).toBe('iris-python');
    expect(serviceNameFor('My_Project v2')).toBe('my-project-v2');
    expect(serviceNameFor('x')).toBe('svc-x');
    expect(serviceNameFor('a'.repeat(40))).toHaveLength(32);
    expect(modelNameFor('/m/examples/models/iris-logreg/1')).toBe('iris-logreg');
    expect(modelNameFor('/m/outputs/iris-logreg.json')).toBe('iris-logreg');
    expect(modelNameFor('/m/outputs/model')).toBe('model');
  });

  it('prints a curl line a shell runs as is, quotes included', () => {
    expect(
      curlLine({
        service: 's',
        scoringUri: 'http://127.0.0.1:8080/api/v1/service/s/score',
        key: 'k-1',
        sample: `{"text": "it's"}`,
      }),
    ).toBe(
      `curl -X POST http://127.0.0.1:8080/api/v1/service/s/score -H 'Authorization: Bearer k-1' -H 'Content-Type: application/json' -d '{"text": "it'\\''s"}'`,
    );
  });

  it('shows pino JSON as one readable line and leaves other lines alone', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5),
      pid: 1,
      hostname: 'h',
      app: 'agent',
      msg: 'replica exited',
      delayMs: 1000,
    });
    expect(formatLogLine(line)).toBe('03:04:05 WARN  replica exited app=agent delayMs=1000');
    expect(formatLogLine('1:M 02 Dec Ready to accept connections')).toBe(
      '1:M 02 Dec Ready to accept connections',
    );
    expect(formatLogLine('{not json')).toBe('{not json');
  });
});
