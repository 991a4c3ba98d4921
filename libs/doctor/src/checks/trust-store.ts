import { X509Certificate } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import * as tls from 'node:tls';

/**
 * Which roots public hosts are verified against:
 * - `system` (default): Node's bundled roots, the operating system's CA bundle and
 *   `NODE_EXTRA_CA_CERTS` — what a node's container runtime (containerd, Go's crypto/x509,
 *   which reads the system bundle) and images that add their proxy CA to the system store trust;
 * - `bundled`: Node's bundled roots only, what a client that ships its own roots (Node, certifi)
 *   trusts in an image nobody added a CA to.
 *
 * `--ca-file` is added in both modes.
 */
export type TrustMode = 'system' | 'bundled';

/** The values `--trust` accepts. */
export const TRUST_MODES: readonly TrustMode[] = ['system', 'bundled'];

/**
 * Where Linux distributions keep the system CA bundle, in the order Go's crypto/x509 (and so
 * containerd and the kubelet) looks; `SSL_CERT_FILE` replaces the list, as it does for Go and
 * OpenSSL.
 */
export const SYSTEM_CA_BUNDLES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Arch, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL, Azure Linux
  '/etc/ssl/ca-bundle.pem', // openSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7+
  '/etc/ssl/cert.pem', // Alpine
];

/** One place roots came from, as the report lists it. */
export interface TrustSource {
  /** `bundled`: compiled into Node; `system`: the OS store; the others name their flag or variable. */
  readonly kind: 'bundled' | 'system' | 'node-extra-ca-certs' | 'ca-file' | 'cluster-ca';
  /** A file path, or how the roots were obtained (`node:tls rootCertificates`). */
  readonly location: string;
  /** How many certificates were read from it (0 with `error`). */
  readonly certificates: number;
  /** Subjects (organisation, else common name) when there are a few: the CA an operator added. */
  readonly names?: readonly string[];
  /** Why nothing was read (missing file, no PEM certificate); the run goes on without it. */
  readonly error?: string;
}

/** The roots of one run: the mode and every source, for public and cluster hosts. */
export interface TrustReport {
  readonly mode: TrustMode;
  readonly public: readonly TrustSource[];
  readonly cluster: readonly TrustSource[];
}

/** A PEM text that was already read, and where from. */
export interface PemInput {
  readonly location: string;
  readonly pem: string;
}

/** What {@link loadTrustRoots} needs; everything the outside world decides is injectable. */
export interface TrustStoreInput {
  readonly mode: TrustMode;
  /** Reads `NODE_EXTRA_CA_CERTS` and `SSL_CERT_FILE` from it (not from `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative `NODE_EXTRA_CA_CERTS` / `SSL_CERT_FILE` paths resolve against it. */
  readonly cwd: string;
  /** `--ca-file` contents, in order (trusted for public and cluster hosts). */
  readonly caFiles: readonly PemInput[];
  /** The cluster's CA (kubeconfig or service account), when there is cluster access. */
  readonly clusterCa?: PemInput;
  /** System bundle paths tried in order; default {@link SYSTEM_CA_BUNDLES}. */
  readonly systemBundles?: readonly string[];
  /**
   * Node's own view of the OS store, used only when no bundle file exists (macOS, Windows);
   * default `tls.getCACertificates('system')` where Node has it (22.15+, 23.9+), else none.
   */
  readonly systemStore?: () => readonly string[] | undefined;
}

/** The roots to verify against and where they came from. */
export interface TrustRoots {
  readonly publicRoots: readonly string[];
  readonly clusterRoots: readonly string[];
  readonly report: TrustReport;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
// Few enough to name each: an operator's proxy CA, not a distribution's bundle.
const NAMED_UP_TO = 5;

/** The PEM certificate blocks of a text (a bundle holds many; anything else is ignored). */
export function pemCertificates(text: string): string[] {
  return text.match(PEM_CERTIFICATE) ?? [];
}

function subjectName(pem: string): string | undefined {
  try {
    const lines = new X509Certificate(pem).subject.split('\n');
    const field = (key: string) =>
      lines.find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1);
    return field('CN') ?? field('O');
  } catch {
    return undefined;
  }
}

function source(kind: TrustSource['kind'], location: string, certificates: string[]): TrustSource {
  const names =
    certificates.length > 0 && certificates.length <= NAMED_UP_TO
      ? certificates.flatMap((pem) => subjectName(pem) ?? [])
      : undefined;
  return {
    kind,
    location,
    certificates: certificates.length,
    ...(names !== undefined && names.length > 0 ? { names } : {}),
    ...(certificates.length === 0 ? { error: 'no PEM certificate in it' } : {}),
  };
}

async function readSource(
  kind: TrustSource['kind'],
  path: string,
): Promise<{ source: TrustSource; certificates: string[] }> {
  try {
    const certificates = pemCertificates(await readFile(path, 'utf8'));
    return { source: source(kind, path, certificates), certificates };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return {
      source: { kind, location: path, certificates: 0, error: `cannot read (${code})` },
      certificates: [],
    };
  }
}

/** `tls.getCACertificates('system')` where this Node has it (not on 20). */
function nodeSystemStore(): readonly string[] | undefined {
  const get = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  return typeof get === 'function' ? get('system') : undefined;
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    try {
      await access(path);
      return path;
    } catch {
      // Not on this distribution: try the next one.
    }
  }
  return undefined;
}

async function systemSource(
  input: TrustStoreInput,
): Promise<{ source: TrustSource; certificates: string[] }> {
  const explicit = input.env['SSL_CERT_FILE'];
  if (explicit !== undefined && explicit !== '')
    return readSource('system', resolvePath(input.cwd, explicit));
  const candidates = input.systemBundles ?? SYSTEM_CA_BUNDLES;
  const bundle = await firstExisting(candidates);
  if (bundle !== undefined) return readSource('system', bundle);
  const store = (input.systemStore ?? nodeSystemStore)();
  if (store !== undefined) {
    const certificates = [...store];
    return {
      source: source('system', "tls.getCACertificates('system')", certificates),
      certificates,
    };
  }
  return {
    source: {
      kind: 'system',
      location: candidates.join(', '),
      certificates: 0,
      error: 'no system CA bundle found (set SSL_CERT_FILE to the bundle)',
    },
    certificates: [],
  };
}

/**
 * Collects the roots of a run: for public hosts Node's bundled roots, in `system` mode the OS
 * bundle and `NODE_EXTRA_CA_CERTS`, and `--ca-file`; for cluster hosts the cluster CA and
 * `--ca-file`. A source that cannot be read is reported with its error and skipped: the checks
 * it would have let pass then fail with a diagnosis naming the untrusted issuer.
 */
export async function loadTrustRoots(input: TrustStoreInput): Promise<TrustRoots> {
  const loaded: { source: TrustSource; certificates: string[] }[] = [
    {
      source: source('bundled', 'node:tls rootCertificates', [...tls.rootCertificates]),
      certificates: [...tls.rootCertificates],
    },
  ];
  if (input.mode === 'system') {
    loaded.push(await systemSource(input));
    const extra = input.env['NODE_EXTRA_CA_CERTS'];
    if (extra !== undefined && extra !== '')
      loaded.push(await readSource('node-extra-ca-certs', resolvePath(input.cwd, extra)));
  }
  const caFiles = input.caFiles.map((file) => {
    const certificates = pemCertificates(file.pem);
    return { source: source('ca-file', file.location, certificates), certificates };
  });
  loaded.push(...caFiles);
  const cluster = [
    ...(input.clusterCa !== undefined
      ? [
          {
            source: source(
              'cluster-ca',
              input.clusterCa.location,
              pemCertificates(input.clusterCa.pem),
            ),
            certificates: pemCertificates(input.clusterCa.pem),
          },
        ]
      : []),
    ...caFiles,
  ];
  return {
    publicRoots: loaded.flatMap((entry) => entry.certificates),
    clusterRoots: cluster.flatMap((entry) => entry.certificates),
    report: {
      mode: input.mode,
      public: loaded.map((entry) => entry.source),
      cluster: cluster.map((entry) => entry.source),
    },
  };
}

/** One line per source, e.g. `NODE_EXTRA_CA_CERTS /etc/proxy-ca.pem: 1 (Corp Proxy CA)`. */
export function describeTrustSource(entry: TrustSource): string {
  const label: Record<TrustSource['kind'], string> = {
    bundled: "Node's bundled roots",
    system: 'system store',
    'node-extra-ca-certs': 'NODE_EXTRA_CA_CERTS',
    'ca-file': '--ca-file',
    'cluster-ca': 'cluster CA',
  };
  const where = entry.kind === 'bundled' ? '' : ` ${entry.location}`;
  const what =
    entry.error !== undefined
      ? `none: ${entry.error}`
      : `${entry.certificates}${entry.names !== undefined ? ` (${entry.names.join(', ')})` : ''}`;
  return `${label[entry.kind]}${where}: ${what}`;
}
