import { readdirSync, readFileSync } from 'node:fs';
import { readFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyType, WebserviceState } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from './support/platform.js';
import { repoRoot, waitFor, type AppProcess } from './support/processes.js';

const SAMPLE = JSON.stringify({ data: [[5.1, 3.5, 1.4, 0.2]] });
/** Seconds each scoring call of the test project takes (so that load builds up). */
const SCORE_SECONDS = 0.2;

/** What a load generator saw: answers by status, and every wrong answer or error. */
interface LoadResult {
  ok: number;
  statuses: Record<number, number>;
  wrong: string[];
  errors: string[];
}

/**
 * `clients` loops that score through the router until stopped. A wrong answer is a non-200
 * status or a 200 without the expected prediction; an error is a failed connection.
 */
function startLoad(url: string, key: string, clients: number) {
  const result: LoadResult = { ok: 0, statuses: {}, wrong: [], errors: [] };
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: SAMPLE,
        });
        const text = await response.text();
        result.statuses[response.status] = (result.statuses[response.status] ?? 0) + 1;
        if (response.status === 200 && text.includes('"setosa"')) result.ok++;
        else result.wrong.push(`${response.status} ${text.slice(0, 200)}`);
      } catch (error) {
        result.errors.push(String((error as Error).cause ?? error));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  return {
    result,
    async stop(): Promise<LoadResult> {
      running = false;
      await Promise.all(loops);
      return result;
    },
  };
}

/** A request from a chosen loopback address; only the status and headers are read. */
function rawRequest(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  localAddress = '127.0.0.1',
  body?: string,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      new URL(path, baseUrl),
      { method: 'POST', headers, localAddress },
      (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0 });
      },
    );
    request.on('error', reject);
    // With a declared length and no body, the router must answer from the headers alone.
    if (body !== undefined) request.end(body);
    else request.flushHeaders();
  });
}

/** Pids of a service's replica processes (launchers, servers, workers) on this machine. */
function replicaPids(service: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
        return environ.includes(`SKIFF_SERVICE_ID=team-a/${service}`) ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

// Scoring through the router, every part a real process: control plane, agent, router, Redis
// and scoring-server replicas. Auth per service, key rotation, the autoscaler under a load
// step, a rolling update and a router restart under load.
describe('scoring through the router', () => {
  let redis: IsolatedRedis;
  let platform: LocalPlatform;
  let agent: AppProcess;
  let router: AppProcess;
  let project: string;

  const scoringUrl = (name: string) => `${platform.routerUrl}/api/v1/service/${name}/score`;
  const score = (name: string, headers: Record<string, string> = {}) =>
    fetch(scoringUrl(name), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: SAMPLE,
    });
  const service = (name: string) =>
    platform.admin.webservices.get({ workspace: 'team-a', name }).then((r) => r.webservice!);
  const keys = (name: string) => platform.admin.webservices.getKeys({ workspace: 'team-a', name });
  const context = () =>
    `agent output:\n${agent.output().slice(-4000)}\nrouter output:\n${router.output().slice(-4000)}`;

  /** Writes a deploymentconfig.json into the project and deploys it as `name` via the CLI. */
  async function deploy(name: string, config: Record<string, unknown>): Promise<void> {
    const file = `${name}.deploymentconfig.json`;
    await writeFile(join(project, file), JSON.stringify({ computeType: 'aks', ...config }));
    const deployed = await platform.cli(
      ['model', 'deploy', '-n', name, '-m', 'iris-logreg:1', '--ic', 'inferenceconfig.json'].concat(
        ['--dc', file, '--ct', 'local', '--overwrite'],
      ),
      project,
    );
    expect(deployed.code, `${deployed.out}\n${context()}`).toBe(0);
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    platform = await startLocalPlatform(redis);
    agent = await platform.startAgent();
    router = await platform.startRouter();
    project = await mkdtemp(join(tmpdir(), 'skiff-e2e-router-'));
    await cp(join(repoRoot, 'examples/iris-python'), project, { recursive: true });
    // The example, made slow enough that a few clients keep its replicas busy.
    const script = await readFile(join(project, 'score.py'), 'utf8');
    await writeFile(
      join(project, 'score.py'),
      `${script}\n\nimport time\n_predict_run = run\n\n\ndef run(raw_data):\n    time.sleep(${SCORE_SECONDS})\n    return _predict_run(raw_data)\n`,
    );
    const model = join(repoRoot, 'examples/models/iris-logreg/1/iris-logreg.json');
    const registered = await platform.cli(['model', 'register', '-n', 'iris-logreg', '-p', model]);
    expect(registered.code, registered.out).toBe(0);
  });
  afterAll(async () => {
    await platform?.stop();
    await redis?.cleanup();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('serves key, token and open services at the scoring URI the CLI prints', async () => {
    const small = { containerResourceRequirements: { cpu: 0.1, memoryInGB: 0.25 } };
    await deploy('iris-key', { numReplicas: 1, authEnabled: true, ...small });
    await deploy('iris-token', { numReplicas: 1, tokenAuthEnabled: true, ...small });
    await deploy('iris-open', { numReplicas: 1, authEnabled: false, ...small });

    const shown = await platform.cli(['service', 'show', '-n', 'iris-key']);
    expect(shown.out).toMatch(new RegExp(`Scoring URI:\\s+${scoringUrl('iris-key')}\\n`));
    // Healthy means routable: the agent reports a replica the moment it is ready, so the
    // first request after the deploy returns finds it (no waiting for a report interval).
    expect((await score('iris-open')).status, context()).toBe(200);
    const { primaryKey, secondaryKey } = await keys('iris-key');
    for (const key of [primaryKey, secondaryKey]) {
      const answer = await score('iris-key', { authorization: `Bearer ${key}` });
      expect(answer.status, context()).toBe(200);
      expect(answer.headers.get('x-ms-request-id')).toBeTruthy();
      expect(((await answer.json()) as { predictions: string[] }).predictions).toEqual(['setosa']);
    }
    for (const headers of [{}, { authorization: 'Bearer not-the-key' }]) {
      const refused = await score('iris-key', headers);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }

    const token = await platform.admin.webservices.getToken({
      workspace: 'team-a',
      name: 'iris-token',
    });
    expect(
      (await score('iris-token', { authorization: `Bearer ${token.accessToken}` })).status,
    ).toBe(200);
    // A key is no token, and a token is bound to its own service.
    expect((await score('iris-token', { authorization: `Bearer ${primaryKey}` })).status).toBe(401);
    expect((await score('iris-key', { authorization: `Bearer ${token.accessToken}` })).status).toBe(
      401,
    );

    const missing = await score('nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: expect.anything() });
  });

  it('refuses a regenerated key within a second, everywhere', async () => {
    const before = await keys('iris-key');
    await platform.admin.webservices.regenerateKey({
      workspace: 'team-a',
      name: 'iris-key',
      keyType: KeyType.KEY_TYPE_PRIMARY,
    });
    const after = await keys('iris-key');
    expect(after.primaryKey).not.toBe(before.primaryKey);
    // Polled for at most about a second: the router must have the new table by then.
    let refused = false;
    for (let attempt = 0; attempt < 20 && !refused; attempt++) {
      refused =
        (await score('iris-key', { authorization: `Bearer ${before.primaryKey}` })).status === 401;
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refused).toBe(true);
    expect((await score('iris-key', { authorization: `Bearer ${after.primaryKey}` })).status).toBe(
      200,
    );
    expect(
      (await score('iris-key', { authorization: `Bearer ${before.secondaryKey}` })).status,
    ).toBe(200);
  });

  it('scales up under a load step and back down after the window, failing no request', async () => {
    await deploy('iris-auto', {
      autoScaler: { autoscaleEnabled: true, minReplicas: 1, maxReplicas: 3, targetUtilization: 70 },
      containerResourceRequirements: { cpu: 0.1, memoryInGB: 0.25 },
      authEnabled: true,
      maxConcurrentRequestsPerContainer: 1,
      maxQueueWaitMs: 30_000,
      scoringTimeoutMs: 10_000,
    });
    const { primaryKey } = await keys('iris-auto');
    await waitFor(
      'the router to route iris',
      async () =>
        (await score('iris-auto', { authorization: `Bearer ${primaryKey}` })).status === 200
          ? true
          : undefined,
      30_000,
      context,
    );
    const load = startLoad(scoringUrl('iris-auto'), primaryKey, 4);
    try {
      const scaled = await waitFor(
        'the autoscaler to run 3 ready replicas',
        async () => {
          const ws = await service('iris-auto');
          return ws.replicas?.ready === 3 ? ws : undefined;
        },
        90_000,
        context,
      );
      expect(scaled.replicas?.desired).toBe(3);
      expect(scaled.lastScaleDecision).toMatchObject({ kind: 'up' });
      expect(scaled.lastScaleDecision?.reason).toMatch(/scaling up from 1 to 3/);
    } finally {
      const seen = await load.stop();
      expect(seen.wrong, context()).toEqual([]);
      expect(seen.errors, context()).toEqual([]);
      expect(seen.ok).toBeGreaterThan(0);
    }

    // One client: demand 1 wants 2 replicas at 70 %; down from 3 to 2 only after 60 s.
    const light = startLoad(scoringUrl('iris-auto'), primaryKey, 1);
    try {
      const down = await waitFor(
        'the autoscaler to scale down',
        async () => {
          const ws = await service('iris-auto');
          return ws.lastScaleDecision?.kind === 'down' ? ws : undefined;
        },
        120_000,
        context,
      );
      expect(down.lastScaleDecision?.reason).toMatch(/scaling down from 3/);
      await waitFor(
        'the drained replica to go',
        async () => {
          const ws = await service('iris-auto');
          return ws.replicas?.current === ws.replicas?.desired ? true : undefined;
        },
        60_000,
        context,
      );
    } finally {
      const seen = await light.stop();
      expect(seen.wrong, context()).toEqual([]);
      expect(seen.errors, context()).toEqual([]);
    }

    // A job of an older decision arriving late (decision 1, "3 replicas", delivered again
    // after decision 2) does not undo the newer one: the agent skips it.
    const latest = await service('iris-auto');
    expect(latest.lastScaleDecision?.sequence).toBe(2);
    const bull = `${redis.prefix.replace(/:$/, '')}:bull:compute.team-a.local`;
    const lateId = `scale.team-a.iris-auto.${latest.generation}.s1`;
    // BullMQ keeps the finished job of decision 1 under this id; forget it so it runs again.
    const raw = redis.duplicate({ keyPrefix: '' });
    await raw.del(`${bull}:${lateId}`);
    await raw.zrem(`${bull}:completed`, lateId);
    const queue = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: 'local',
    });
    try {
      const late = await queue.enqueue({
        kind: 'scale',
        workspace: 'team-a',
        service: 'iris-auto',
        generation: latest.generation,
        replicas: 3,
        reason: 'a late job of an old decision',
        sequence: 1,
      });
      expect(late).toEqual({ jobId: lateId, created: true });
      const done = await waitFor(
        'the late job to finish',
        async () => {
          const status = await queue.status(lateId);
          return status?.state === 'completed' ? status : undefined;
        },
        30_000,
        context,
      );
      expect(done.result).toEqual({ skipped: expect.stringMatching(/replaced by decision 2/) });
      expect((await service('iris-auto')).replicas?.desired).toBe(2);
    } finally {
      await queue.close();
    }
  }, 300_000);

  it('rolls a new generation under load without failing a request', async () => {
    const { primaryKey } = await keys('iris-key');
    const load = startLoad(scoringUrl('iris-key'), primaryKey, 2);
    try {
      await deploy('iris-key', {
        numReplicas: 2,
        authEnabled: true,
        containerResourceRequirements: { cpu: 0.1, memoryInGB: 0.3 },
      });
      const rolled = await service('iris-key');
      expect(rolled.state).toBe(WebserviceState.WEBSERVICE_STATE_HEALTHY);
      expect(rolled.appliedGeneration).toBe(rolled.generation);
      expect(rolled.generation).toBeGreaterThan(1);
    } finally {
      const seen = await load.stop();
      expect(seen.wrong, context()).toEqual([]);
      expect(seen.errors, context()).toEqual([]);
      expect(seen.ok).toBeGreaterThan(0);
    }
  }, 120_000);

  it('answers 413, 503, 504, 502 and 429 from real replicas, and never slows other clients', async () => {
    // One slot, 100 ms of queue, 150 ms to score: the replica (200 ms per call) is too slow.
    await deploy('iris-limits', {
      numReplicas: 1,
      authEnabled: false,
      maxConcurrentRequestsPerContainer: 1,
      maxQueueWaitMs: 100,
      scoringTimeoutMs: 150,
      containerResourceRequirements: { cpu: 0.1, memoryInGB: 0.25 },
    });
    const statusOf = async (response: Promise<Response>) => {
      const answer = await response;
      await answer.arrayBuffer();
      return { status: answer.status, retryAfter: answer.headers.get('retry-after') };
    };

    // 413 on the declared length, before any byte of the body is read.
    const huge = await rawRequest(platform.routerUrl, '/api/v1/service/iris-limits/score', {
      'content-length': String(101 * 1024 * 1024),
      'content-type': 'application/json',
    });
    expect(huge.status).toBe(413);

    // Two at once: the first takes the slot and runs out of scoring time (504); the second
    // waits for a slot longer than maxQueueWaitMs (503 with Retry-After).
    const [first, second] = await Promise.all([
      statusOf(score('iris-limits')),
      new Promise((resolve) => setTimeout(resolve, 20)).then(() => statusOf(score('iris-limits'))),
    ]);
    expect(first.status).toBe(504);
    expect(second).toEqual({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });

    // The replica dies while it scores: 502 (the request had been sent).
    const ws = await service('iris-limits');
    expect(ws.replicas?.ready).toBe(1);
    const dying = statusOf(score('iris-limits'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    for (const pid of replicaPids('iris-limits')) process.kill(pid, 'SIGKILL');
    expect((await dying).status).toBe(502);

    // 25 wrong keys from 127.0.0.2: that address is refused with 429; 127.0.0.1 is not slowed.
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 25; attempt++) {
      const answer = await rawRequest(
        platform.routerUrl,
        '/api/v1/service/iris-key/score',
        { authorization: 'Bearer wrong', 'content-type': 'application/json' },
        '127.0.0.2',
        SAMPLE,
      );
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    const { primaryKey } = await keys('iris-key');
    expect((await score('iris-key', { authorization: `Bearer ${primaryKey}` })).status).toBe(200);
  }, 120_000);

  it('restarts the router under load: clients see connection errors at most, never a wrong answer', async () => {
    const { primaryKey } = await keys('iris-key');
    const load = startLoad(scoringUrl('iris-key'), primaryKey, 2);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await router.kill('SIGTERM');
      router = await platform.startRouter();
      const okBefore = load.result.ok;
      await waitFor(
        'answers through the new router',
        async () => (load.result.ok > okBefore + 5 ? true : undefined),
        30_000,
        context,
      );
    } finally {
      const seen = await load.stop();
      expect(seen.wrong, context()).toEqual([]);
      expect(seen.ok).toBeGreaterThan(0);
    }
  }, 60_000);
});
