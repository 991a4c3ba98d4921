/** The outcome of one check, after prerequisites and diagnoses. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'blocked' | 'skipped';

/** What a check looks at. */
export type CheckKind = 'dns' | 'tcp' | 'tls' | 'http' | 'pods' | 'pod-connect' | 'proxy';

/** One DNS question to one resolver. */
export interface DnsQuery {
  /** The resolver's label (`127.0.0.2:53`). */
  readonly resolver: string;
  readonly type: 'A' | 'AAAA';
  /** `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...; absent when no answer came. */
  readonly rcode?: string;
  readonly addresses: readonly string[];
  /** The CNAME chain followed from the asked name, in order. */
  readonly cnames: readonly string[];
  readonly latencyMs: number;
  /** `timeout`, or the socket error code, when no answer came. */
  readonly error?: string;
}

/** A `privatelink.` name in the CNAME chain that resolves wrongly. */
export interface PrivatelinkProblem {
  readonly name: string;
  readonly problem: 'public-address' | 'unresolved';
  readonly addresses: readonly string[];
}

/** What a DNS check found. */
export interface DnsData {
  readonly kind: 'dns';
  /** `resolvers`: asked DNS; `override`: --host-override gave the address; `literal`: an IP. */
  readonly source: 'resolvers' | 'override' | 'literal';
  readonly queries: readonly DnsQuery[];
  /** The addresses later checks connect to (from the first resolver), IPv4 first. */
  readonly addresses: readonly string[];
  readonly privatelink?: PrivatelinkProblem;
}

/** What a TCP connect found. */
export interface TcpData {
  readonly kind: 'tcp';
  readonly address: string;
  readonly port: number;
  /** `timeout`, `refused`, `unreachable`, `not-allowed` (connect policy), or a socket code. */
  readonly error?: string;
}

/** The certificate fields a report shows. */
export interface CertificateName {
  readonly commonName?: string;
  readonly organization?: string;
}

/** What a TLS handshake found. */
export interface TlsData {
  readonly kind: 'tls';
  readonly address: string;
  readonly port: number;
  readonly servername: string;
  /** Against which roots the chain was verified; `none` when no roots were available. */
  readonly verifiedAgainst: 'public' | 'cluster' | 'none';
  readonly chainValid?: boolean;
  /** OpenSSL's reason (`SELF_SIGNED_CERT_IN_CHAIN`, ...) when the chain did not verify. */
  readonly chainError?: string;
  readonly nameMatches?: boolean;
  readonly issuer?: CertificateName;
  readonly subject?: CertificateName;
  /** Whether the issuer is in the expected-issuer list (public trust only). */
  readonly issuerExpected?: boolean;
  readonly validTo?: string;
  /** Handshake failure (`timeout`, `ECONNRESET`, an alert) when there was no certificate. */
  readonly error?: string;
}

/** What an HTTP probe found. */
export interface HttpData {
  readonly kind: 'http';
  readonly url: string;
  readonly status?: number;
  /** Status codes that count as reachable; `below-500` when the plan names none. */
  readonly expected: readonly number[] | 'below-500';
  readonly error?: string;
}

/** One pod found through the Kubernetes API. */
export interface PodEndpoint {
  readonly name: string;
  readonly ip?: string;
  readonly port: number;
}

/** What listing pods found. */
export interface PodsData {
  readonly kind: 'pods';
  readonly namespace: string;
  readonly labelSelector: string;
  readonly pods: readonly PodEndpoint[];
  readonly error?: string;
}

/** What connecting to the listed pods found. */
export interface PodConnectData {
  readonly kind: 'pod-connect';
  readonly results: readonly (PodEndpoint & { readonly error?: string })[];
}

/** What the proxy environment check found. */
export interface ProxyData {
  readonly kind: 'proxy';
  readonly proxy: string;
  readonly noProxy: string;
  /** Destinations that must bypass the proxy but are not in NO_PROXY. */
  readonly missing: readonly string[];
  /** Destinations the doctor could not check (e.g. pod CIDR not given). */
  readonly unchecked: readonly string[];
}

/** Kind-specific findings of a check. */
export type CheckData =
  DnsData | TcpData | TlsData | HttpData | PodsData | PodConnectData | ProxyData;

/** One check's result as reported. */
export interface CheckResult {
  /** `mcr.dns`, `mcr.tcp`, `router-peers.pods`, ... */
  readonly id: string;
  readonly kind: CheckKind;
  readonly phase: number;
  /** The plan entry (host or pods id) the check belongs to. */
  readonly subject: string;
  readonly host?: string;
  readonly port?: number;
  readonly required: boolean;
  readonly why: string;
  readonly status: CheckStatus;
  /** One line for the table: what was found. */
  readonly detail: string;
  readonly durationMs: number;
  /** The prerequisite that failed, when status is `blocked`. */
  readonly blockedBy?: string;
  readonly data?: CheckData;
}

/** What a check's `run` returns; the runner adds identity, timing and blocking. */
export interface CheckOutcome {
  readonly status: 'pass' | 'warn' | 'fail' | 'skipped';
  readonly detail: string;
  readonly data?: CheckData;
}

/** What a running check can see. */
export interface CheckContext {
  /** Aborted when the check's timeout expires; close sockets on it. */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** The result of one of this check's prerequisites (they have all passed or warned). */
  readonly prerequisite: (id: string) => CheckResult;
}

/** A unit of work with explicit prerequisites. */
export interface Check {
  readonly id: string;
  readonly kind: CheckKind;
  readonly phase: number;
  readonly subject: string;
  readonly host?: string;
  readonly port?: number;
  readonly required: boolean;
  readonly why: string;
  /** Checks (same or earlier phase) that must pass or warn before this one runs. */
  readonly prerequisites: readonly string[];
  readonly run: (context: CheckContext) => Promise<CheckOutcome>;
}
