import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { type Command, Option } from 'commander';
import type { ConnectPolicy } from '../checks/connect.js';
import { loadTrustRoots, TRUST_MODES, type TrustMode } from '../checks/trust-store.js';
import {
  kubernetesAccessFromKubeconfig,
  kubernetesAccessInCluster,
  type KubernetesAccess,
} from '../checks/kubernetes.js';
import {
  DEFAULT_SLOW_DNS_MS,
  DEFAULT_TIMEOUT_MS,
  runDoctor,
  type DoctorRunOptions,
} from '../doctor.js';
import { DoctorUsageError, PlanError } from '../errors.js';
import { parseHostOverride, type HostOverride } from '../net/overrides.js';
import { parseResolver, resolversFromResolvConf, type Resolver } from '../net/resolvers.js';
import { loadDefaultPlan, loadPlanFile, validatePlan } from '../plan/load.js';
import { renderPlan } from '../plan/render.js';
import type { Plan } from '../plan/schema.js';
import { renderHuman } from '../report/human.js';
import { renderJson } from '../report/json.js';
import { renderJunit } from '../report/junit.js';
import type { DoctorReport } from '../report/model.js';
import { parseDuration } from './duration.js';

/** Issuers of the certificates Azure's public endpoints present (see docs/doctor.md). */
export const DEFAULT_EXPECTED_ISSUERS: readonly string[] = [
  'Microsoft Corporation',
  'DigiCert Inc',
];

/** The flags' values as commander parses them. */
export interface DoctorFlags {
  readonly cluster?: string;
  readonly region?: string;
  readonly acr?: string;
  readonly storageAccount?: string;
  readonly endpointLabel?: string;
  readonly namespace: string;
  readonly tokenAuth?: boolean;
  readonly acrDataEndpoint?: boolean;
  readonly resolver?: readonly string[];
  readonly resolvConf: string;
  readonly plan?: string;
  readonly phase?: string;
  readonly hostOverride?: readonly string[];
  readonly extraHost?: readonly string[];
  readonly timeout: string;
  readonly slowDns: string;
  readonly caFile?: readonly string[];
  readonly trust: TrustMode;
  readonly expectedIssuer?: readonly string[];
  readonly kubeconfig?: string;
  readonly podCidr?: string;
  readonly json?: boolean;
  readonly junit?: string;
}

// Repeatable flags start undefined (so --help shows no `[]` default) and collect values.
const collect = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** The environment variables the doctor reads, for --help (name, meaning). */
export const DOCTOR_ENVIRONMENT: readonly (readonly [string, string])[] = [
  [
    'SSL_CERT_FILE',
    'the system CA bundle (--trust system); default: the first of /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt, ... that exists',
  ],
  ['NODE_EXTRA_CA_CERTS', 'more CA certificates (PEM) trusted for public hosts (--trust system)'],
  [
    'KUBERNETES_SERVICE_HOST',
    'set in a pod: in-cluster mode (API server checks, pod lists through the service account)',
  ],
  ['KUBERNETES_SERVICE_PORT', 'the API server port in-cluster; default 443'],
  ['HTTPS_PROXY, HTTP_PROXY', 'when set, NO_PROXY is checked to cover the cluster destinations'],
  ['NO_PROXY', 'destinations that bypass the proxy'],
];

/** The "Environment:" block of --help for `rows` (name, meaning). */
export function environmentHelp(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    '',
    'Environment:',
    ...rows.map(([name, help]) => `  ${name.padEnd(width)}  ${help}`),
    '',
  ].join('\n');
}

/**
 * Adds the doctor's flags to a command (`skiff doctor` and `skiff-doctor` share them), and to
 * its --help the environment variables it reads plus `moreEnvironment`.
 */
export function addDoctorOptions(
  command: Command,
  moreEnvironment: readonly (readonly [string, string])[] = [],
): Command {
  return command
    .addHelpText('after', environmentHelp([...DOCTOR_ENVIRONMENT, ...moreEnvironment]))
    .option(
      '--cluster <name>',
      'AKS cluster name: {cluster} in the API server name {cluster}.hcp.{region}.azmk8s.io',
    )
    .option('--region <region>', 'Azure region, e.g. westeurope: {region}')
    .option('--acr <name>', 'workspace container registry name: {acr}.azurecr.io')
    .option(
      '--storage-account <name>',
      'storage account name: {account}.blob/.table.core.windows.net',
    )
    .option(
      '--endpoint-label <label>',
      'generated endpoint label: {label}.{region}.cloudapp.azure.com (checked only when given)',
    )
    .option('--namespace <namespace>', 'Kubernetes namespace of the router and model pods', 'skiff')
    .option('--token-auth', 'services use token auth: also check api.azureml.ms')
    .option(
      '--acr-data-endpoint',
      'the registry uses dedicated data endpoints: also check {acr}.{region}.data.azurecr.io',
    )
    .option(
      '--resolver <ip[:port]>',
      'ask this DNS server (repeatable; each is asked separately, the first is the one in effect). When given, the system resolvers are not asked at all',
      collect,
    )
    .option(
      '--resolv-conf <file>',
      'where the system resolvers are listed when no --resolver is given',
      '/etc/resolv.conf',
    )
    .option(
      '--plan <file>',
      'host plan (YAML or JSON): a whole plan, or `extends: default` plus hosts and overrides',
    )
    .option('--phase <n>', 'run phases 1..n only (1-5)')
    .option(
      '--host-override <name=ip[:port]>',
      'connect to ip[:port] for this name without asking DNS; `name=:port` keeps DNS and changes the port (repeatable)',
      collect,
    )
    .option(
      '--extra-host <host:port>',
      'also check this host in phase 5, e.g. a database the model calls (repeatable)',
      collect,
    )
    .option(
      '--timeout <duration>',
      'per-check timeout, e.g. 5s or 500ms',
      `${DEFAULT_TIMEOUT_MS / 1000}s`,
    )
    .option(
      '--slow-dns <duration>',
      'report DNS answers slower than this',
      `${DEFAULT_SLOW_DNS_MS / 1000}s`,
    )
    .option(
      '--ca-file <file>',
      'also trust the CA certificates (PEM) in this file (repeatable)',
      collect,
    )
    .addOption(
      new Option(
        '--trust <roots>',
        "roots for public hosts: system = Node's bundled roots + the OS CA bundle ($SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt, ...) + $NODE_EXTRA_CA_CERTS, as the node's container runtime and images with an added proxy CA see it; bundled = Node's bundled roots only. --ca-file is added to both",
      )
        .choices(TRUST_MODES)
        .default('system'),
    )
    .option(
      '--expected-issuer <name>',
      `issuer organisation or name expected on public hosts; others are reported as TLS inspection (repeatable; default: ${DEFAULT_EXPECTED_ISSUERS.join(', ')})`,
      collect,
    )
    .option(
      '--kubeconfig <file>',
      'check the cluster side (router peers, model pods) through this kubeconfig; in-cluster access is used automatically',
    )
    .option(
      '--pod-cidr <cidr>',
      'pod network, e.g. 10.244.0.0/16: checked against NO_PROXY when HTTPS_PROXY is set',
    )
    .option(
      '--json',
      'print the report as JSON (schema skiff.dev/doctor-report/v1, see docs/doctor.md)',
    )
    .addOption(new Option('--junit <file>', 'also write the report as JUnit XML to this file'));
}

/** What the command needs from its surroundings. */
export interface DoctorCommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Connect policy for probes; default: any address DNS returns. */
  readonly allowConnect?: ConnectPolicy;
  /** System CA bundle paths tried in order (tests point them at a fake bundle); default the distributions' paths. */
  readonly systemBundles?: readonly string[];
}

function parsePhase(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const phase = Number(text);
  if (!Number.isInteger(phase) || phase < 1 || phase > 5)
    throw new DoctorUsageError(`--phase ${text}: expected 1 to 5`);
  return phase;
}

function addExtraHosts(plan: Plan, extra: readonly string[]): Plan {
  if (extra.length === 0) return plan;
  const hosts = extra.map((text, index) => {
    const colon = text.lastIndexOf(':');
    const host = text.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(text.slice(colon + 1));
    if (colon <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new DoctorUsageError(`--extra-host ${text}: expected HOST:PORT`);
    }
    return {
      id: `extra-${index + 1}`,
      phase: 5,
      host,
      port,
      protocol: 'tcp' as const,
      trust: 'public' as const,
      required: true,
      why: `Named with --extra-host: something the model calls after deployment.`,
    };
  });
  return validatePlan({ ...plan, hosts: [...plan.hosts, ...hosts] }, '--extra-host');
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new DoctorUsageError(`cannot read ${what} ${path}`, { cause: error });
  }
}

async function resolversFor(flags: DoctorFlags, cwd: string): Promise<Resolver[]> {
  if (flags.resolver !== undefined && flags.resolver.length > 0)
    return flags.resolver.map(parseResolver);
  const path = resolvePath(cwd, flags.resolvConf);
  const resolvers = resolversFromResolvConf(await readText(path, 'resolver list'));
  if (resolvers.length === 0)
    throw new DoctorUsageError(`no nameserver in ${path}; pass --resolver IP[:PORT]`);
  return resolvers;
}

/** Turns parsed flags into run options: reads the plan, CA files, kubeconfig, resolvers. */
export async function doctorRunOptions(
  flags: DoctorFlags,
  io: DoctorCommandIo,
): Promise<DoctorRunOptions> {
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const slowDnsMs = parseDuration(flags.slowDns, '--slow-dns');
  const upToPhase = parsePhase(flags.phase);
  const overrides = new Map<string, HostOverride>(
    (flags.hostOverride ?? []).map(parseHostOverride),
  );
  if (flags.podCidr !== undefined && isIP(flags.podCidr.split('/')[0] ?? '') === 0) {
    throw new DoctorUsageError(
      `--pod-cidr ${flags.podCidr}: expected a CIDR such as 10.244.0.0/16`,
    );
  }
  const resolvers = await resolversFor(flags, io.cwd);
  const defaultPlan = await loadDefaultPlan();
  const basePlan =
    flags.plan === undefined
      ? defaultPlan
      : await loadPlanFile(resolvePath(io.cwd, flags.plan), defaultPlan);
  const plan = addExtraHosts(basePlan, flags.extraHost ?? []);
  const serviceHost = io.env['KUBERNETES_SERVICE_HOST'];
  const inCluster = serviceHost !== undefined && serviceHost !== '';
  let kubernetes: KubernetesAccess | undefined;
  if (flags.kubeconfig !== undefined) {
    try {
      kubernetes = await kubernetesAccessFromKubeconfig(resolvePath(io.cwd, flags.kubeconfig));
    } catch (error) {
      throw new DoctorUsageError(
        `--kubeconfig ${flags.kubeconfig}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  } else if (inCluster) {
    kubernetes = await kubernetesAccessInCluster(io.env);
  }
  const caFiles = await Promise.all(
    (flags.caFile ?? []).map(async (file) => ({
      location: file,
      pem: await readText(resolvePath(io.cwd, file), '--ca-file'),
    })),
  );
  const roots = await loadTrustRoots({
    mode: flags.trust,
    env: io.env,
    cwd: io.cwd,
    caFiles,
    ...(kubernetes?.clusterCa !== undefined
      ? {
          clusterCa: {
            location: flags.kubeconfig ?? 'in-cluster service account',
            pem: kubernetes.clusterCa,
          },
        }
      : {}),
    ...(io.systemBundles !== undefined ? { systemBundles: io.systemBundles } : {}),
  });
  const rendered = renderPlan(plan, {
    variables: {
      ...(flags.cluster !== undefined ? { cluster: flags.cluster } : {}),
      ...(flags.region !== undefined ? { region: flags.region } : {}),
      ...(flags.acr !== undefined ? { acr: flags.acr } : {}),
      ...(flags.storageAccount !== undefined ? { account: flags.storageAccount } : {}),
      ...(flags.endpointLabel !== undefined ? { label: flags.endpointLabel } : {}),
      namespace: flags.namespace,
      ...(inCluster
        ? {
            kubernetesServiceHost: serviceHost,
            kubernetesServicePort: io.env['KUBERNETES_SERVICE_PORT'] ?? '443',
          }
        : {}),
    },
    conditions: {
      tokenAuth: flags.tokenAuth === true,
      generatedEndpoint: flags.endpointLabel !== undefined,
      acrDataEndpoint: flags.acrDataEndpoint === true,
      inCluster,
    },
    kubernetesAccess: kubernetes !== undefined,
  });
  return {
    plan: rendered,
    resolvers,
    overrides,
    timeoutMs,
    slowDnsMs,
    ...(upToPhase !== undefined ? { upToPhase } : {}),
    trust: {
      publicRoots: roots.publicRoots,
      clusterRoots: roots.clusterRoots,
      expectedIssuers: flags.expectedIssuer ?? DEFAULT_EXPECTED_ISSUERS,
      report: roots.report,
    },
    allowConnect: io.allowConnect ?? (() => true),
    ...(kubernetes !== undefined ? { kubernetes } : {}),
    proxy: {
      env: io.env,
      ...(flags.podCidr !== undefined ? { podCidr: flags.podCidr } : {}),
      severity: inCluster ? 'fail' : 'warn',
    },
  };
}

/** Prints the report as asked (human or JSON on `out`, JUnit to a file). */
export async function emitReport(
  report: DoctorReport,
  flags: Pick<DoctorFlags, 'json' | 'junit'>,
  io: DoctorCommandIo,
): Promise<void> {
  io.out(flags.json === true ? renderJson(report) : renderHuman(report));
  if (flags.junit !== undefined)
    await writeFile(resolvePath(io.cwd, flags.junit), renderJunit(report));
}

/**
 * One doctor run from flags to exit code: 0 every required check passed, 1 one failed,
 * 2 usage or plan error (reported on `err`).
 */
export async function runDoctorCommand(flags: DoctorFlags, io: DoctorCommandIo): Promise<number> {
  let options: DoctorRunOptions;
  try {
    options = await doctorRunOptions(flags, io);
  } catch (error) {
    if (error instanceof DoctorUsageError || error instanceof PlanError) {
      io.err(`skiff doctor: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const report = await runDoctor(options);
  await emitReport(report, flags, io);
  return report.summary.exitCode;
}
