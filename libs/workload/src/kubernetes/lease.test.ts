import * as k8s from '@kubernetes/client-node';
import { startKubernetesFake, type KubernetesFake } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaderElection } from './lease.js';

const NS = 'skiff';
let fake: KubernetesFake;
let clock: number;

/** A contender on the shared test clock (seconds are moved by hand, never waited for). */
function contender(identity: string): LeaderElection {
  return new LeaderElection({
    kubeConfig: fake.kubeConfig,
    namespace: NS,
    identity,
    leaseDurationSeconds: 15,
    now: () => new Date(clock),
  });
}

const advance = (seconds: number) => (clock += seconds * 1000);

async function lease(): Promise<k8s.V1Lease> {
  return fake.kubeConfig
    .makeApiClient(k8s.CoordinationV1Api)
    .readNamespacedLease({ name: 'skiff-agent-leader', namespace: NS });
}

beforeEach(async () => {
  fake = await startKubernetesFake({ namespaces: [NS] });
  clock = Date.parse('2030-01-01T00:00:00Z');
});

afterEach(async () => {
  await fake.close();
});

describe('LeaderElection', () => {
  it('elects one of two contenders; the other takes over only after the lease expired unrenewed', async () => {
    const a = contender('agent-a');
    const b = contender('agent-b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(a.isLeader && !b.isLeader).toBe(true);

    advance(10);
    expect(await b.tryAcquireOrRenew()).toBe(false); // B first saw the record 10 s ago
    expect(await a.tryAcquireOrRenew()).toBe(true); // renewed
    advance(10);
    expect(await b.tryAcquireOrRenew()).toBe(false); // the renewal restarted B's wait
    advance(14);
    expect(await b.tryAcquireOrRenew()).toBe(false); // 14 s unchanged: not yet

    advance(2); // A stopped renewing 16 s ago by B's observation
    expect(await b.tryAcquireOrRenew()).toBe(true);
    const taken = await lease();
    expect(taken.spec).toMatchObject({
      holderIdentity: 'agent-b',
      leaseTransitions: 1,
      leaseDurationSeconds: 15,
    });
    expect(String(taken.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(a.isLeader).toBe(false);
  });

  it('lets exactly one of two contenders win a race for an expired lease', async () => {
    const old = contender('agent-old');
    expect(await old.tryAcquireOrRenew()).toBe(true);
    const a = contender('agent-a');
    const b = contender('agent-b');
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    advance(16);
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await lease()).spec?.holderIdentity).toBe(results[0] ? 'agent-a' : 'agent-b');
  });

  it('loses leadership when its renewal meets a conflict', async () => {
    const a = contender('agent-a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    // Another writer gets in between this contender's read and its write.
    const remove = fake.intercept((request) =>
      request.resource === 'leases' && request.verb === 'update'
        ? { code: 409, reason: 'Conflict', message: 'the object has been modified' }
        : undefined,
    );
    expect(await a.tryAcquireOrRenew()).toBe(false);
    expect(a.isLeader).toBe(false);
    remove();
    expect(await a.tryAcquireOrRenew()).toBe(true);
  });

  it('hands the lease over at once when the leader releases it', async () => {
    const a = contender('agent-a');
    const b = contender('agent-b');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    await a.release();
    expect(await b.tryAcquireOrRenew()).toBe(true);
  });

  it('gives up leadership when the API server fails', async () => {
    const a = contender('agent-a');
    expect(await a.tryAcquireOrRenew()).toBe(true);
    fake.intercept((request) =>
      request.resource === 'leases' ? { code: 503, reason: 'ServiceUnavailable' } : undefined,
    );
    await expect(a.tryAcquireOrRenew()).rejects.toThrow(
      /leader election on Lease skiff\/skiff-agent-leader failed/,
    );
    expect(a.isLeader).toBe(false);
  });
});
