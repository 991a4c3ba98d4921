/**
 * @skiff/doctor — the connectivity doctor's engine: the host plan (data, validated), the
 * DNS/TCP/TLS/HTTP/Kubernetes checks run phase by phase, the diagnoses, and the reporters.
 * Used by `skiff doctor` (apps/cli) and `skiff-doctor` (apps/doctor).
 */
export { PlanError, DoctorUsageError } from './errors.js';
export {
  PLAN_SCHEMA_VERSION,
  PlanSchema,
  UserPlanSchema,
  planConditionNames,
  type Plan,
  type PlanHost,
  type PlanPods,
  type UserPlan,
  type PlanConditionName,
  type PlanConditions,
} from './plan/schema.js';
export { loadDefaultPlan, loadPlanFile, planFromUserText, validatePlan } from './plan/load.js';
export {
  renderPlan,
  variableSources,
  type PlanVariables,
  type RenderedHost,
  type RenderedPods,
  type RenderedPlan,
  type RenderInput,
  type UncheckedEntry,
} from './plan/render.js';
export { parseResolver, resolversFromResolvConf, type Resolver } from './net/resolvers.js';
export { parseHostOverride, type HostOverride } from './net/overrides.js';
export { isPublicAddress, isLoopbackAddress, cidrContains } from './net/addresses.js';
export type {
  CheckStatus,
  CheckKind,
  CheckResult,
  CheckData,
  DnsData,
  DnsQuery,
  TcpData,
  TlsData,
  HttpData,
  PodsData,
  PodConnectData,
  ProxyData,
  PrivatelinkProblem,
  CertificateName,
  PodEndpoint,
  Check,
  CheckContext,
  CheckOutcome,
} from './checks/model.js';
export { runChecks, type RunnerOptions } from './checks/runner.js';
export { buildChecks, type CheckEnvironment } from './checks/build.js';
export { queryResolver, privatelinkProblem } from './checks/dns.js';
export { tcpConnect } from './checks/tcp.js';
export { issuerIsExpected, type TlsTrust } from './checks/tls.js';
export {
  loadTrustRoots,
  describeTrustSource,
  pemCertificates,
  SYSTEM_CA_BUNDLES,
  TRUST_MODES,
  type TrustMode,
  type TrustReport,
  type TrustRoots,
  type TrustSource,
  type TrustStoreInput,
  type PemInput,
} from './checks/trust-store.js';
export { proxyFindings, noProxyCovers, type ProxyBypassNeeds } from './checks/proxy.js';
export type { ConnectPolicy } from './checks/connect.js';
export {
  kubernetesAccessFromKubeconfig,
  kubernetesAccessInCluster,
  type KubernetesAccess,
  type PodLister,
  type ListedPod,
} from './checks/kubernetes.js';
export { diagnose, detections } from './diagnoses/index.js';
export type { Diagnosis, DiagnosisContext, Detection } from './diagnoses/model.js';
export {
  runDoctor,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_SLOW_DNS_MS,
  type DoctorRunOptions,
} from './doctor.js';
export {
  REPORT_SCHEMA,
  phaseTitles,
  type DoctorReport,
  type PhaseReport,
  type ReportSummary,
} from './report/model.js';
export { renderHuman } from './report/human.js';
export { renderJson } from './report/json.js';
export { renderJunit } from './report/junit.js';
export {
  addDoctorOptions,
  doctorRunOptions,
  emitReport,
  runDoctorCommand,
  DEFAULT_EXPECTED_ISSUERS,
  DOCTOR_ENVIRONMENT,
  environmentHelp,
  type DoctorFlags,
  type DoctorCommandIo,
} from './cli/options.js';
export { parseDuration } from './cli/duration.js';
