import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { replicaAddress, replicaOf } from './replicas.js';

/** A pod as the API returns it for a skiff replica; `patch` adds to it. */
function pod(
  patch: { metadata?: Partial<NonNullable<V1Pod['metadata']>>; status?: V1Pod['status'] } = {},
): V1Pod {
  return {
    metadata: {
      name: 'iris-0a1b2c3d-5f7b9c8d6-abcde',
      uid: 'u1',
      creationTimestamp: new Date('2030-01-01T00:00:00Z'),
      labels: {
        'skiff.dev/workspace': 'team-a',
        'skiff.dev/service': 'iris',
        'skiff.dev/generation': '4',
      },
      ...patch.metadata,
    },
    spec: {
      nodeName: 'node-1',
      containers: [
        {
          name: 'scoring',
          image: 'img',
          ports: [{ name: 'http', containerPort: 5001 }],
          env: [{ name: 'SKIFF_MAX_CONCURRENT_REQUESTS', value: '8' }],
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.244.1.7',
      startTime: '2030-01-01T00:00:05Z' as unknown as Date, // as a watch event delivers it
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        {
          name: 'scoring',
          image: 'img',
          imageID: '',
          ready: true,
          restartCount: 0,
          state: { running: {} },
        },
      ],
      ...patch.status,
    },
  };
}

describe('replicaOf', () => {
  it('reads a ready replica: labels, address from podIP and the named port, concurrency, node, start', () => {
    expect(replicaOf(pod())).toEqual({
      workspace: 'team-a',
      service: 'iris',
      generation: 4,
      id: 'iris-0a1b2c3d-5f7b9c8d6-abcde',
      address: '10.244.1.7:5001',
      phase: 'ready',
      inFlight: 0,
      maxConcurrent: 8,
      nodeName: 'node-1',
      startTime: new Date('2030-01-01T00:00:05Z'),
      restartCount: 0,
      message: '',
    });
  });

  it('is undefined for a pod without skiff labels', () => {
    expect(replicaOf(pod({ metadata: { labels: {} } }))).toBeUndefined();
  });

  it('is starting before Ready, with no address before an IP', () => {
    const starting = pod({ status: { phase: 'Pending', conditions: [], containerStatuses: [] } });
    delete starting.status!.podIP;
    delete starting.status!.startTime;
    expect(replicaOf(starting)).toMatchObject({
      phase: 'starting',
      address: '',
      startTime: new Date('2030-01-01T00:00:00Z'),
    });
  });

  it('is terminating once deletion started, even while still Ready', () => {
    expect(replicaOf(pod({ metadata: { deletionTimestamp: new Date() } }))?.phase).toBe(
      'terminating',
    );
  });

  it('is failed in CrashLoopBackOff, with the restart count and the last exit', () => {
    const crashing = pod({
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [
          {
            name: 'scoring',
            image: 'img',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: {
              waiting: {
                reason: 'CrashLoopBackOff',
                message: 'back-off 40s restarting failed container',
              },
            },
            lastState: {
              terminated: { exitCode: 1, reason: 'Error', message: 'init() raised ValueError' },
            },
          },
        ],
      },
    });
    expect(replicaOf(crashing)).toMatchObject({
      phase: 'failed',
      restartCount: 3,
      message:
        'CrashLoopBackOff: back-off 40s restarting failed container; last exit code 1: init() raised ValueError',
    });
  });

  it('is failed when the image cannot be pulled, and says why a pod is not scheduled', () => {
    const pull = pod({
      status: {
        containerStatuses: [
          {
            name: 'scoring',
            image: 'img',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: {
              waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "img"' },
            },
          },
        ],
      },
    });
    expect(replicaOf(pull)).toMatchObject({
      phase: 'failed',
      message: 'ImagePullBackOff: Back-off pulling image "img"',
    });
    const pending = pod({
      status: {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
          },
        ],
      },
    });
    expect(replicaOf(pending)).toMatchObject({
      phase: 'starting',
      message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
    });
  });

  it('brackets an IPv6 pod address', () => {
    expect(replicaAddress(pod({ status: { podIP: 'fd00::7' } }))).toBe('[fd00::7]:5001');
  });
});
