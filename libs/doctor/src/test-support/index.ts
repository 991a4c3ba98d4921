/**
 * Test-only loopback fixtures for the doctor: dns2 servers with scripted zones, HTTPS
 * endpoints with generated certificates, blackhole and silent ports, a Kubernetes pod-list
 * stub. Never imported by production code; everything binds 127.0.0.x only.
 */
export { assertLoopback, loopbackOnly } from './loopback.js';
export {
  startDnsServer,
  type TestDnsServer,
  type Zone,
  type ZoneRecord,
  type DnsServerBehaviour,
} from './dns-server.js';
export { createTestCa, createSelfSigned, type TestCa, type PemPair } from './certificates.js';
export {
  startHttpsEndpoint,
  startSilentListener,
  startBlackholeListener,
  closedPort,
  type TestListener,
} from './listeners.js';
export { startKubernetesStub, type KubernetesStub, type StubPod } from './kubernetes-stub.js';
export {
  startDoctorFixture,
  fixtureVariables,
  fixtureConditions,
  FIXTURE_ENDPOINT_ADDRESS,
  type DoctorFixture,
  type DoctorFixtureOptions,
  type EndpointMode,
} from './fixture.js';
