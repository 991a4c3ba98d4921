// The simulated kubelet of every node: starts each bound pod's containers through the pod
// runner, probes them over HTTP as the kubelet does, restarts what exits (restartPolicy), keeps
// their logs, and stops them and removes the pod when it is deleted.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  apiTime,
  arrayAt,
  clone,
  isObject,
  nameOf,
  namespaceOf,
  numberAt,
  objectAt,
  stringAt,
  stringMapAt,
  type JsonObject,
} from './json.js';
import { ContainerLog } from './logs.js';
import { resourceTypeOfKind } from './resources.js';
import { badRequest, notFound } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';

/** What a pod runner is told about the container it starts. */
export interface ContainerLaunch {
  readonly namespace: string;
  readonly podName: string;
  readonly nodeName: string;
  readonly containerName: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** The container's environment, downward-API references (`valueFrom.fieldRef`) resolved. */
  readonly env: Readonly<Record<string, string>>;
  /** The container's first declared port: the one the returned address's port stands for. */
  readonly containerPort: number | undefined;
  /** Restarts so far (0 on the first start). */
  readonly restartCount: number;
  /** The pod as stored (plain JSON, as the API sends it). */
  readonly pod: JsonObject;
}

/** A running container, as the runner started it. */
export interface ContainerProcess {
  /**
   * `host:port` (`[::1]:port` for IPv6) the container listens on. The host becomes the pod's
   * `status.podIP`; the port replaces the container's first declared `containerPort` in the
   * pod's spec, so `podIP:containerPort` read from the pod reaches it.
   */
  readonly address: string;
  /** Resolves with the exit code when the process ends by itself (or is killed by a test). */
  readonly exited?: Promise<number>;
  /** Output chunks (stdout and stderr); become the container's log lines. */
  readonly logs?: AsyncIterable<string>;
  /** The OS process id, for tests that kill it. */
  readonly pid?: number;
  /** Stops the process: SIGTERM, then SIGKILL after `gracePeriodMs`. */
  stop(gracePeriodMs: number): Promise<void>;
}

/** Starts one container of a pod. */
export type PodRunner = (launch: ContainerLaunch) => Promise<ContainerProcess>;

/** Timing of the simulated kubelet. */
export interface KubeletTiming {
  /** Milliseconds per simulated second (probe periods and delays, back-off, grace periods). */
  readonly secondMs: number;
}

const POD = resourceTypeOfKind('Pod');
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** `host:port` → parts; `[::1]:80` too. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!match) throw new Error(`a pod runner returned an address that is not host:port: ${address}`);
  return { host: match[1] ?? '', port: Number(match[2]) };
}

function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  if (!LOOPBACK.test(host)) return Promise.resolve(false); // loopback only, never elsewhere
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path,
        method: 'GET',
        agent: false,
        timeout: timeoutMs,
        headers: { 'user-agent': 'kube-probe/1.34' },
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

class ContainerRuntime {
  restartCount = 0;
  state: JsonObject = { waiting: { reason: 'ContainerCreating' } };
  lastState: JsonObject = {};
  ready = false;
  started = false;
  everStarted = false;
  process: ContainerProcess | undefined;
  log = new ContainerLog();
  previousLog: ContainerLog | undefined;
  address: { host: string; port: number } | undefined;
  instance = 0;
  stopping = false;
  containerId = '';
  startedAt = '';
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly name: string,
    readonly index: number,
    readonly spec: JsonObject,
  ) {}

  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

class PodWorker {
  readonly containers: ContainerRuntime[];
  terminating = false;
  gone = false;
  readonly startTime = apiTime();

  constructor(
    private readonly kubelet: Kubelet,
    readonly uid: string,
    readonly namespace: string,
    readonly name: string,
    pod: JsonObject,
  ) {
    this.containers = arrayAt(objectAt(pod, 'spec'), 'containers')
      .filter(isObject)
      .map((c, i) => new ContainerRuntime(stringAt(c, 'name') ?? '', i, clone(c)));
  }

  pod(): JsonObject | undefined {
    const pod = this.kubelet.store.get(POD, this.namespace, this.name);
    return pod && stringAt(objectAt(pod, 'metadata'), 'uid') === this.uid ? pod : undefined;
  }

  restartPolicy(): string {
    return stringAt(objectAt(this.pod(), 'spec'), 'restartPolicy') ?? 'Always';
  }

  start(): void {
    for (const c of this.containers) void this.startContainer(c);
  }

  async startContainer(c: ContainerRuntime): Promise<void> {
    if (this.terminating || this.gone) return;
    const pod = this.pod();
    if (!pod) return;
    const instance = ++c.instance;
    c.state = { waiting: { reason: 'ContainerCreating' } };
    this.publish();
    let process: ContainerProcess;
    try {
      process = await this.kubelet.launch(pod, c);
    } catch (error) {
      if (this.terminating || this.gone || instance !== c.instance) return;
      c.state = {
        waiting: {
          reason: 'RunContainerError',
          message: error instanceof Error ? error.message : String(error),
        },
      };
      this.publish();
      this.later(c, this.kubelet.backoffMs(c.restartCount + 1), () => void this.startContainer(c));
      return;
    }
    if (this.terminating || this.gone || instance !== c.instance) {
      await process.stop(0);
      return;
    }
    c.process = process;
    c.address = splitAddress(process.address);
    c.containerId = `containerd://${randomBytes(32).toString('hex')}`;
    c.startedAt = apiTime();
    c.state = { running: { startedAt: c.startedAt } };
    c.started = true;
    c.everStarted = true;
    const probed = this.kubelet.probesEnabled && isObject(c.spec['readinessProbe']);
    c.ready = !probed;
    this.publish();
    const logsDone = this.consumeLogs(c, process);
    if (process.exited) {
      void process.exited.then(async (code) => {
        if (instance !== c.instance || c.stopping) return;
        await Promise.race([logsDone, new Promise((r) => setTimeout(r, 1_000))]);
        this.containerEnded(c, code);
      });
    }
    if (this.kubelet.probesEnabled) {
      this.probeLoop(c, instance, 'readiness');
      this.probeLoop(c, instance, 'liveness');
    }
  }

  async consumeLogs(c: ContainerRuntime, process: ContainerProcess): Promise<void> {
    if (!process.logs) return;
    const log = c.log;
    try {
      for await (const chunk of process.logs) log.write(chunk);
    } catch {
      // a broken log stream ends the log, not the container
    }
  }

  later(c: ContainerRuntime, ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      c.timers.delete(timer);
      action();
    }, ms);
    c.timers.add(timer);
  }

  /** The container's process ended (by itself, by a test, or killed for liveness). */
  containerEnded(c: ContainerRuntime, exitCode: number): void {
    if (this.terminating || this.gone) return;
    c.clearTimers();
    c.instance++;
    const terminated = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: c.startedAt,
      finishedAt: apiTime(),
      containerID: c.containerId,
    };
    c.log.end();
    c.process = undefined;
    c.ready = false;
    c.started = false;
    const policy = this.restartPolicy();
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      c.state = { terminated };
      this.publish();
      return;
    }
    c.lastState = { terminated };
    c.previousLog = c.log;
    c.log = new ContainerLog();
    c.restartCount++;
    const delay = this.kubelet.backoffMs(c.restartCount);
    c.state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(delay / this.kubelet.timing.secondMs)}s restarting failed container=${c.name} pod=${this.name}_${this.namespace}(${this.uid})`,
      },
    };
    this.publish();
    this.later(c, delay, () => void this.startContainer(c));
  }

  probeLoop(c: ContainerRuntime, instance: number, kind: 'readiness' | 'liveness'): void {
    const probe = c.spec[`${kind}Probe`];
    if (!isObject(probe)) return;
    const second = this.kubelet.timing.secondMs;
    const period = Math.max(1, numberAt(probe, 'periodSeconds') ?? 10) * second;
    const timeoutMs = Math.max(1, numberAt(probe, 'timeoutSeconds') ?? 1) * 1_000;
    const success = numberAt(probe, 'successThreshold') ?? 1;
    const failure = numberAt(probe, 'failureThreshold') ?? 3;
    let successes = 0;
    let failures = 0;
    const tick = async (): Promise<void> => {
      if (instance !== c.instance || this.terminating || this.gone || !c.address) return;
      const ok = await this.kubelet.runProbe(probe, c, timeoutMs);
      if (instance !== c.instance || this.terminating || this.gone) return;
      if (ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
      }
      if (kind === 'readiness') {
        if (!c.ready && successes >= success) {
          c.ready = true;
          this.publish();
        } else if (c.ready && failures >= failure) {
          c.ready = false;
          this.publish();
        }
      } else if (failures >= failure) {
        void this.killForLiveness(c);
        return;
      }
      this.later(c, period, () => void tick());
    };
    this.later(c, (numberAt(probe, 'initialDelaySeconds') ?? 0) * second, () => void tick());
  }

  async killForLiveness(c: ContainerRuntime): Promise<void> {
    const process = c.process;
    if (!process) return;
    c.stopping = true;
    try {
      await process.stop(this.gracePeriodMs());
    } finally {
      c.stopping = false;
    }
    this.containerEnded(c, 137);
  }

  gracePeriodMs(): number {
    const pod = this.pod();
    const seconds =
      numberAt(objectAt(pod, 'metadata'), 'deletionGracePeriodSeconds') ??
      numberAt(objectAt(pod, 'spec'), 'terminationGracePeriodSeconds') ??
      30;
    return seconds * this.kubelet.timing.secondMs;
  }

  /** Deletion: stop every container, then remove the pod object. */
  async terminate(): Promise<void> {
    if (this.terminating) return;
    this.terminating = true;
    const grace = this.gracePeriodMs();
    await Promise.all(this.containers.map((c) => this.stopContainer(c, grace)));
    this.gone = true;
    const pod = this.pod();
    if (pod) this.kubelet.store.remove(POD, this.namespace, this.name);
    this.kubelet.forget(this.uid);
  }

  /** The pod object is gone already: stop the processes, write nothing. */
  async kill(): Promise<void> {
    this.terminating = true;
    this.gone = true;
    await Promise.all(this.containers.map((c) => this.stopContainer(c, 0)));
    this.kubelet.forget(this.uid);
  }

  async stopContainer(c: ContainerRuntime, graceMs: number): Promise<void> {
    c.clearTimers();
    c.instance++;
    const process = c.process;
    c.process = undefined;
    c.stopping = true;
    try {
      if (process) await process.stop(graceMs);
    } catch {
      // a runner that fails to stop leaves nothing we can do
    }
    c.log.end();
  }

  publish(): void {
    if (this.gone) return;
    const pod = this.pod();
    if (!pod) return;
    const next = clone(pod);
    const old = objectAt(pod, 'status') ?? {};
    const status: JsonObject = { ...clone(old) };
    const first = this.containers.find((c) => c.address);
    const allTerminated = this.containers.every((c) => 'terminated' in c.state);
    const phase = allTerminated
      ? this.containers.every((c) => numberAt(objectAt(c.state, 'terminated'), 'exitCode') === 0)
        ? 'Succeeded'
        : 'Failed'
      : this.containers.some((c) => c.everStarted)
        ? 'Running'
        : 'Pending';
    const ready = !allTerminated && this.containers.every((c) => c.ready);
    status['phase'] = phase;
    status['hostIP'] = '127.0.0.1';
    status['hostIPs'] = [{ ip: '127.0.0.1' }];
    status['startTime'] = this.startTime;
    if (first?.address) {
      status['podIP'] = first.address.host;
      status['podIPs'] = [{ ip: first.address.host }];
    }
    const previous = arrayAt(old, 'conditions').filter(isObject);
    const condition = (type: string, value: boolean, reason?: string): JsonObject => {
      const text = value ? 'True' : 'False';
      const before = previous.find((c) => c['type'] === type);
      const entry: JsonObject = {
        type,
        status: text,
        lastProbeTime: null,
        lastTransitionTime: before?.['status'] === text ? before['lastTransitionTime'] : apiTime(),
      };
      if (reason && !value) entry['reason'] = reason;
      return entry;
    };
    const unready = allTerminated ? 'PodCompleted' : 'ContainersNotReady';
    status['conditions'] = [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('Ready', ready, unready),
      condition('ContainersReady', ready, unready),
      ...previous.filter((c) => c['type'] === 'PodScheduled'),
    ];
    status['containerStatuses'] = this.containers.map((c) => {
      const entry: JsonObject = {
        name: c.name,
        image: stringAt(c.spec, 'image') ?? '',
        imageID: `fake.skiff.dev/${stringAt(c.spec, 'image') ?? ''}`,
        ready: c.ready,
        started: c.started,
        restartCount: c.restartCount,
        state: clone(c.state),
        lastState: clone(c.lastState),
      };
      if (c.containerId) entry['containerID'] = c.containerId;
      return entry;
    });
    next['status'] = status;
    // The runner's port stands for the container's first declared port (see ContainerProcess).
    const containers = arrayAt(objectAt(next, 'spec'), 'containers');
    for (const c of this.containers) {
      const port = arrayAt(containers[c.index], 'ports')[0];
      if (c.address && isObject(port) && c.address.port > 0) port['containerPort'] = c.address.port;
    }
    this.kubelet.store.replace(POD, next);
  }
}

/** The kubelets of all simulated nodes (one object: nodes share this process). */
export class Kubelet {
  readonly #workers = new Map<string, PodWorker>();
  readonly #unsubscribe: () => void;
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

  constructor(
    readonly store: ObjectStore,
    private readonly runner: PodRunner | undefined,
    readonly timing: KubeletTiming,
  ) {
    this.#unsubscribe = store.subscribe((event) => this.#onEvent(event));
  }

  /** Whether probes run (only with a runner: without one nothing listens). */
  get probesEnabled(): boolean {
    return this.runner !== undefined;
  }

  /** Restart back-off: 10 s doubling to 5 min, in simulated seconds. */
  backoffMs(restarts: number): number {
    return Math.min(10 * 2 ** Math.max(0, restarts - 1), 300) * this.timing.secondMs;
  }

  #onEvent(event: StoreEvent): void {
    if (this.#closed || event.resource !== POD) return;
    const uid = stringAt(objectAt(event.object, 'metadata'), 'uid') ?? '';
    const worker = this.#workers.get(uid);
    if (event.type === 'DELETED') {
      if (worker) this.#track(worker.kill());
      return;
    }
    const pod = event.object;
    const node = stringAt(objectAt(pod, 'spec'), 'nodeName');
    const deleting = Boolean(stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp'));
    if (!node) return;
    if (!worker) {
      const phase = stringAt(objectAt(pod, 'status'), 'phase');
      if (phase === 'Succeeded' || phase === 'Failed') return;
      const created = new PodWorker(this, uid, namespaceOf(pod), nameOf(pod), pod);
      this.#workers.set(uid, created);
      if (deleting) this.#track(created.terminate());
      else setImmediate(() => created.start());
      return;
    }
    if (deleting && !worker.terminating) this.#track(worker.terminate());
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  /** Forgets a worker whose pod is gone. */
  forget(uid: string): void {
    this.#workers.delete(uid);
  }

  /** Starts one container through the runner (or, without one, pretends it started). */
  async launch(pod: JsonObject, c: ContainerRuntime): Promise<ContainerProcess> {
    const firstPort = numberAt(arrayAt(c.spec, 'ports')[0], 'containerPort');
    if (!this.runner) {
      const job = stringAt(objectAt(pod, 'spec'), 'restartPolicy') !== 'Always';
      return {
        address: `127.0.0.1:${firstPort ?? 0}`,
        ...(job ? { exited: Promise.resolve(0) } : {}),
        stop: () => Promise.resolve(),
      };
    }
    const metadata = objectAt(pod, 'metadata');
    return this.runner({
      namespace: namespaceOf(pod),
      podName: nameOf(pod),
      nodeName: stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '',
      containerName: c.name,
      image: stringAt(c.spec, 'image') ?? '',
      command: arrayAt(c.spec, 'command').map(String),
      args: arrayAt(c.spec, 'args').map(String),
      env: resolveEnv(pod, c.spec),
      containerPort: firstPort,
      restartCount: c.restartCount,
      pod: clone({ ...pod, metadata }),
    });
  }

  /** One probe of a container (httpGet and tcpSocket; exec and grpc count as passing). */
  async runProbe(probe: JsonObject, c: ContainerRuntime, timeoutMs: number): Promise<boolean> {
    if (!c.address) return false;
    const httpGet = objectAt(probe, 'httpGet');
    if (httpGet)
      return probeHttp(c.address.host, c.address.port, stringAt(httpGet, 'path') ?? '/', timeoutMs);
    if (objectAt(probe, 'tcpSocket')) {
      const { host, port } = c.address;
      if (!LOOPBACK.test(host)) return false;
      const { connect } = await import('node:net');
      return new Promise((resolve) => {
        const socket = connect({ host, port, timeout: timeoutMs }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
        socket.on('timeout', () => {
          socket.destroy();
          resolve(false);
        });
      });
    }
    return true;
  }

  #worker(namespace: string, podName: string): { pod: JsonObject; worker: PodWorker | undefined } {
    const pod = this.store.get(POD, namespace, podName);
    if (!pod) throw notFound(POD, podName);
    const uid = stringAt(objectAt(pod, 'metadata'), 'uid') ?? '';
    return { pod, worker: this.#workers.get(uid) };
  }

  #container(
    pod: JsonObject,
    worker: PodWorker | undefined,
    container: string | undefined,
  ): ContainerRuntime | undefined {
    const names = arrayAt(objectAt(pod, 'spec'), 'containers').map(
      (c) => stringAt(c, 'name') ?? '',
    );
    if (container === undefined) {
      if (names.length !== 1) {
        throw badRequest(
          `a container name must be specified for pod ${nameOf(pod)}, choose one of: [${names.join(' ')}]`,
        );
      }
      container = names[0] ?? '';
    }
    if (!names.includes(container))
      throw badRequest(`container ${container} is not valid for pod ${nameOf(pod)}`);
    return worker?.containers.find((c) => c.name === container);
  }

  /** The log of a container (current or previous instance), or the API's 400 for why not. */
  logOf(
    namespace: string,
    podName: string,
    container: string | undefined,
    previous: boolean,
  ): ContainerLog {
    const { pod, worker } = this.#worker(namespace, podName);
    const runtime = this.#container(pod, worker, container);
    const name = runtime?.name ?? container ?? '';
    if (previous) {
      if (!runtime?.previousLog)
        throw badRequest(`previous terminated container "${name}" in pod "${podName}" not found`);
      return runtime.previousLog;
    }
    if (!runtime || (!runtime.started && !('terminated' in runtime.state))) {
      const reason = stringAt(objectAt(runtime?.state, 'waiting'), 'reason') ?? 'ContainerCreating';
      throw badRequest(`container "${name}" in pod "${podName}" is waiting to start: ${reason}`);
    }
    return runtime.log;
  }

  /** Appends lines to a running container's log (for tests without real processes). */
  appendLog(
    namespace: string,
    podName: string,
    lines: readonly string[],
    container?: string,
  ): void {
    this.logOf(namespace, podName, container, false).appendLines(lines);
  }

  /** The process of a running container, for tests that kill it. */
  processOf(namespace: string, podName: string, container?: string): ContainerProcess | undefined {
    const { pod, worker } = this.#worker(namespace, podName);
    return this.#container(pod, worker, container)?.process;
  }

  /** Stops every container (the pods stay as they are) and waits for pending work. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    await Promise.all([...this.#workers.values()].map((w) => w.kill()));
    await Promise.allSettled([...this.#pending]);
  }
}

/** A container's environment with `$(VAR)` expansion and downward-API field references. */
export function resolveEnv(pod: JsonObject, container: JsonObject): Record<string, string> {
  const env: Record<string, string> = {};
  const metadata = objectAt(pod, 'metadata');
  const field = (path: string): string => {
    const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (label) return stringMapAt(metadata, label[1] ?? '')[label[2] ?? ''] ?? '';
    switch (path) {
      case 'metadata.name':
        return nameOf(pod);
      case 'metadata.namespace':
        return namespaceOf(pod);
      case 'metadata.uid':
        return stringAt(metadata, 'uid') ?? '';
      case 'spec.nodeName':
        return stringAt(objectAt(pod, 'spec'), 'nodeName') ?? '';
      case 'spec.serviceAccountName':
        return stringAt(objectAt(pod, 'spec'), 'serviceAccountName') ?? 'default';
      case 'status.hostIP':
        return '127.0.0.1';
      default:
        return '';
    }
  };
  for (const entry of arrayAt(container, 'env')) {
    const name = stringAt(entry, 'name');
    if (!name) continue;
    const fieldPath = stringAt(objectAt(objectAt(entry, 'valueFrom'), 'fieldRef'), 'fieldPath');
    if (fieldPath !== undefined) {
      env[name] = field(fieldPath);
      continue;
    }
    const value = stringAt(entry, 'value') ?? '';
    env[name] = value.replace(
      /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
      (whole, ref: string | undefined) => (ref === undefined ? '$' : (env[ref] ?? whole)),
    );
  }
  return env;
}
