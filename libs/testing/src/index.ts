/**
 * Test-only helpers: a real Redis per run with per-test isolation, a grpc-js server on port 0,
 * free loopback ports, a Kubernetes API fake with simulated kubelets, a container registry
 * (Debian's docker-registry). Never imported by production code.
 */
export { freePort } from './ports.js';
export { followJsonLog, type JsonLog, type JsonLogLine } from './json-log.js';
export {
  findDockerRegistry,
  startTestRegistry,
  type TestRegistry,
  type TestRegistryAuth,
} from './registry/registry.js';
export {
  provideTestRedis,
  startRedisServer,
  type RedisServerOptions,
  type RedisServer,
  redisAnswers,
  assertLoopbackRedisUrl,
  type TestRedis,
} from './redis-server.js';
export { testRedisUrl, uniqueTestName, isolatedRedis, type IsolatedRedis } from './redis.js';
export { startGrpcTestServer, type GrpcTestServer } from './grpc.js';
export {
  startKubernetesFake,
  type KubernetesFake,
  type KubernetesFakeOptions,
} from './kubernetes/fake.js';
export type { AcceptedManifest } from './kubernetes/api.js';
export type { Interceptor, RecordedRequest, Verb } from './kubernetes/http.js';
export type { StoreEvent as KubernetesChange } from './kubernetes/store.js';
export type { SimulatedNode } from './kubernetes/controllers.js';
export type { ContainerLaunch, ContainerProcess, PodRunner } from './kubernetes/kubelet.js';
export type { JsonObject as KubernetesJson } from './kubernetes/json.js';
export {
  httpPodRunner,
  processPodRunner,
  type HttpPodRunnerOptions,
  type ProcessPodRunnerOptions,
} from './kubernetes/runner.js';
