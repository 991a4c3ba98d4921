// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
// the holder renews `renewTime`; a contender takes over only when it has seen the same lease
// record, unchanged, for a whole `leaseDurationSeconds` by its *own* clock (so clocks that
// disagree across nodes cannot make two leaders); every write carries the resourceVersion it
// read, and a 409 means someone else wrote first.
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { UnavailableError } from '@skiff/errors';

/** Options of {@link LeaderElection}. */
export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespace of the Lease (the agent's own). */
  readonly namespace: string;
  /** Lease name; default `skiff-agent-leader`. */
  readonly name?: string;
  /** This contender, unique among them (the pod or node name). */
  readonly identity: string;
  /** How long a lease holds without renewal; default 15 s. */
  readonly leaseDurationSeconds?: number;
  /** The clock; default `() => new Date()`. Tests pass their own. */
  readonly now?: () => Date;
}

interface Observed {
  readonly record: string;
  readonly at: number;
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/**
 * One contender for a Lease. Only the elected agent applies cluster-wide objects; call
 * {@link tryAcquireOrRenew} every few seconds (well under the lease duration) and act while
 * it returns true.
 */
export class LeaderElection {
  readonly #api: CoordinationV1Api;
  readonly #name: string;
  readonly #duration: number;
  readonly #now: () => Date;
  #observed: Observed | undefined;
  #leader = false;

  constructor(private readonly options: LeaderElectionOptions) {
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#name = options.name ?? 'skiff-agent-leader';
    this.#duration = options.leaseDurationSeconds ?? 15;
    this.#now = options.now ?? (() => new Date());
  }

  /** Whether the last round made or kept this contender the leader. */
  get isLeader(): boolean {
    return this.#leader;
  }

  #spec(acquireTime: Date, transitions: number): V1LeaseSpec {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.#duration,
      acquireTime: new V1MicroTime(acquireTime.getTime()),
      renewTime: new V1MicroTime(this.#now().getTime()),
      leaseTransitions: transitions,
    };
  }

  /**
   * One round: creates the Lease when there is none, renews it when held by this contender,
   * takes it over when its holder let it expire; returns whether this contender leads now.
   * Losing a race (409) is not an error: it returns false.
   *
   * @throws UnavailableError when the API server cannot be reached (leadership is given up).
   */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace });
    } catch (error) {
      if (!isStatus(error, 404)) return this.#fail(error);
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#name, namespace },
            spec: this.#spec(this.#now(), 0),
          },
        });
        this.#observed = undefined;
        return (this.#leader = true);
      } catch (createError) {
        if (isStatus(createError, 409)) return (this.#leader = false);
        return this.#fail(createError);
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const now = this.#now().getTime();
    // The record as the holder last wrote it; its change is what proves the holder alive.
    const record = `${holder}\u0000${String(spec.renewTime ?? '')}\u0000${lease.metadata?.resourceVersion ?? ''}`;
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
    const duration = (spec.leaseDurationSeconds ?? this.#duration) * 1000;
    const mine = holder === this.options.identity;
    if (holder && !mine && this.#observed.at + duration > now) return (this.#leader = false);
    const acquired = mine
      ? spec.acquireTime
        ? new Date(String(spec.acquireTime))
        : this.#now()
      : this.#now();
    const transitions = (spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace,
        body: { ...lease, spec: this.#spec(acquired, transitions) },
      });
      this.#observed = undefined;
      return (this.#leader = true);
    } catch (error) {
      if (isStatus(error, 409)) return (this.#leader = false);
      return this.#fail(error);
    }
  }

  /** Gives the lease up (when leading), so another contender takes over at once. */
  async release(): Promise<void> {
    if (!this.#leader) return;
    this.#leader = false;
    try {
      const lease = await this.#api.readNamespacedLease({
        name: this.#name,
        namespace: this.options.namespace,
      });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.#api.replaceNamespacedLease({
        name: this.#name,
        namespace: this.options.namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(this.#now().getTime()),
          },
        },
      });
    } catch (error) {
      if (!isStatus(error, 409) && !isStatus(error, 404)) throw this.#unavailable(error);
    }
  }

  #unavailable(error: unknown): UnavailableError {
    return new UnavailableError(
      `leader election on Lease ${this.options.namespace}/${this.#name} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      { cause: error },
    );
  }

  #fail(error: unknown): never {
    this.#leader = false;
    throw this.#unavailable(error);
  }
}
