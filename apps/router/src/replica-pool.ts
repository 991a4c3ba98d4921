// Replica choice and the wait for a free slot. Each service has a pool of its replicas' slots:
// a request takes the READY replica with the fewest outstanding requests below the slot limit
// (max_concurrent_per_replica), or waits in FIFO order until one frees, up to max_queue_wait.
// Slot counts survive table changes: a replica is the same replica as long as its id and
// address are, and leases taken on a replica that left the table simply expire with it.
import type { RouteReplica, RouteTable, ServiceEndpoint } from './table.js';

/** Why no slot was given. */
export type NoSlotReason = 'timeout' | 'gone' | 'aborted';

/** No slot: the wait timed out, the service left the table, or the caller gave up. */
export class NoSlotError extends Error {
  override readonly name = 'NoSlotError';
  constructor(readonly reason: NoSlotReason) {
    super(`no replica slot: ${reason}`);
  }
}

/** One replica's slot bookkeeping, shared by every table version that lists it. */
export class ReplicaSlots {
  outstanding = 0;
  /** Connection refused recently: skipped until this time (ms since epoch). */
  ejectedUntil = 0;
  constructor(public replica: RouteReplica) {}
}

/** A slot held on a replica; release it exactly once (later calls do nothing). */
export interface Lease {
  readonly slots: ReplicaSlots;
  readonly replica: RouteReplica;
  release(): void;
}

interface Waiter {
  readonly exclude: ReplicaSlots | undefined;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: NoSlotError) => void;
}

/** Options of {@link ServicePool.acquire}. */
export interface AcquireOptions {
  /** Longest wait for a slot. */
  readonly waitMs: number;
  /** Cancels the wait (the client went away). */
  readonly signal?: AbortSignal;
  /** A replica not to use (the one that just refused the connection). */
  readonly exclude?: ReplicaSlots;
}

/** The replicas of one service and the requests waiting for them. */
export class ServicePool {
  #endpoint: ServiceEndpoint;
  #replicas: ReplicaSlots[] = [];
  #waiters: Waiter[] = [];
  #inFlight = 0;
  #cursor = 0;
  #closed = false;
  #wakeTimer: NodeJS.Timeout | undefined;

  constructor(endpoint: ServiceEndpoint) {
    this.#endpoint = endpoint;
    this.update(endpoint);
  }

  get endpoint(): ServiceEndpoint {
    return this.#endpoint;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.#waiters.length;
  }

  /** Requests holding a slot (sent to a replica and not yet answered). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Takes a new version of the service's route; keeps the slot counts of known replicas. */
  update(endpoint: ServiceEndpoint): void {
    this.#endpoint = endpoint;
    const known = new Map(this.#replicas.map((slots) => [slots.replica.key, slots]));
    this.#replicas = endpoint.replicas.map((replica) => {
      const slots = known.get(replica.key) ?? new ReplicaSlots(replica);
      slots.replica = replica;
      return slots;
    });
    this.#dispatch();
  }

  /** Resolves with a slot, or rejects with {@link NoSlotError}. */
  acquire(options: AcquireOptions): Promise<Lease> {
    if (this.#closed) return Promise.reject(new NoSlotError('gone'));
    if (options.signal?.aborted) return Promise.reject(new NoSlotError('aborted'));
    if (this.#waiters.length === 0) {
      const slots = this.#pick(options.exclude);
      if (slots) return Promise.resolve(this.#lease(slots));
    }
    if (options.waitMs <= 0) return Promise.reject(new NoSlotError('timeout'));
    return new Promise<Lease>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        exclude: options.exclude,
        resolve: (lease) => {
          settle();
          resolve(lease);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(new NoSlotError('aborted'));
      const timer = setTimeout(() => waiter.reject(new NoSlotError('timeout')), options.waitMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Skips `slots` for `ms` (its connection was refused), unless the table drops it sooner. */
  eject(slots: ReplicaSlots, ms: number): void {
    slots.ejectedUntil = Date.now() + ms;
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = setTimeout(() => this.#dispatch(), ms + 1);
    this.#wakeTimer.unref();
  }

  /** The service left the table: waiting requests fail with `gone`; leases run out. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#wakeTimer);
    for (const waiter of [...this.#waiters]) waiter.reject(new NoSlotError('gone'));
  }

  #lease(slots: ReplicaSlots): Lease {
    slots.outstanding += 1;
    this.#inFlight += 1;
    let released = false;
    return {
      slots,
      replica: slots.replica,
      release: () => {
        if (released) return;
        released = true;
        slots.outstanding -= 1;
        this.#inFlight -= 1;
        this.#dispatch();
      },
    };
  }

  /** Hands free slots to waiters in arrival order. */
  #dispatch(): void {
    for (let i = 0; i < this.#waiters.length;) {
      const waiter = this.#waiters[i];
      if (!waiter) return;
      const slots = this.#pick(waiter.exclude);
      if (!slots) {
        // Nothing free for this waiter; later ones can only differ by their exclusion.
        if (!waiter.exclude) return;
        i++;
        continue;
      }
      waiter.resolve(this.#lease(slots)); // removes it from #waiters
    }
  }

  /** The READY replica with the fewest outstanding requests and a free slot. */
  #pick(exclude: ReplicaSlots | undefined): ReplicaSlots | undefined {
    const limit = this.#endpoint.maxConcurrentPerReplica;
    const now = Date.now();
    const count = this.#replicas.length;
    let best: ReplicaSlots | undefined;
    // Start at a rotating index so ties spread over replicas.
    for (let n = 0; n < count; n++) {
      const slots = this.#replicas[(this.#cursor + n) % count];
      if (!slots?.replica.ready || slots === exclude) continue;
      if (slots.outstanding >= limit || slots.ejectedUntil > now) continue;
      if (!best || slots.outstanding < best.outstanding) best = slots;
    }
    this.#cursor = count === 0 ? 0 : (this.#cursor + 1) % count;
    return best;
  }
}

/** Per-service load, for reports and metrics. */
export interface ServiceLoadCount {
  readonly workspace: string;
  readonly service: string;
  readonly queued: number;
  readonly inFlight: number;
}

/** Every service's pool, kept in step with the routing table. */
export class ReplicaPools {
  readonly #pools = new Map<string, ServicePool>();
  /** Pools of services that left the table but still have requests in flight. */
  readonly #retired = new Set<ServicePool>();

  /** Creates, updates and closes pools to match `table`. */
  apply(table: RouteTable): void {
    for (const [name, pool] of this.#pools) {
      if (!table.services.has(name)) {
        pool.close();
        this.#pools.delete(name);
        if (pool.inFlight > 0) this.#retired.add(pool);
      }
    }
    for (const [name, endpoint] of table.services) {
      const pool = this.#pools.get(name);
      if (pool) pool.update(endpoint);
      else this.#pools.set(name, new ServicePool(endpoint));
    }
  }

  /** The pool serving `service`, if the table has it. */
  get(service: string): ServicePool | undefined {
    return this.#pools.get(service);
  }

  /** Queued and in-flight requests of every service that has any (or is in the table). */
  load(): ServiceLoadCount[] {
    for (const pool of this.#retired) if (pool.inFlight === 0) this.#retired.delete(pool);
    return [...this.#pools.values(), ...this.#retired].map((pool) => ({
      workspace: pool.endpoint.workspace,
      service: pool.endpoint.service,
      queued: pool.queued,
      inFlight: pool.inFlight,
    }));
  }
}
