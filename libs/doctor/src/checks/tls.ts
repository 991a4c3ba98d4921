import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  createSecureContext,
  type PeerCertificate,
  type SecureContext,
} from 'node:tls';
import { refuseLookup, socketErrorName, type ConnectPolicy } from './connect.js';
import type { CertificateName, CheckContext, CheckOutcome, TlsData } from './model.js';
import type { TrustReport } from './trust-store.js';

/** Which certificates a TLS check trusts and which issuers it expects. */
export interface TlsTrust {
  /** PEM roots for `trust: public` hosts (the `--trust` roots plus --ca-file, see trust-store.ts). */
  readonly publicRoots: readonly string[];
  /** PEM roots for `trust: cluster` hosts (the cluster CA plus --ca-file); empty: unverified. */
  readonly clusterRoots: readonly string[];
  /**
   * Issuer organisation or common-name fragments expected on public hosts; a verified chain
   * from anyone else is reported as TLS inspection. Empty: no expectation.
   */
  readonly expectedIssuers: readonly string[];
  /** Where the roots came from, for the report; absent when a caller passes bare roots. */
  readonly report?: TrustReport;
}

// A system bundle plus Node's roots is hundreds of certificates: parse them once per run, not
// once per handshake.
const contexts = new WeakMap<readonly string[], SecureContext>();
/** A TLS context trusting exactly `roots`, cached per roots array. */
export function secureContextFor(roots: readonly string[]): SecureContext {
  let context = contexts.get(roots);
  if (context === undefined) {
    context = createSecureContext({ ca: [...roots] });
    contexts.set(roots, context);
  }
  return context;
}

function certificateName(fields: PeerCertificate['issuer'] | undefined): CertificateName {
  const pick = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  const commonName = pick(fields?.CN);
  const organization = pick(fields?.O);
  return {
    ...(commonName !== undefined ? { commonName } : {}),
    ...(organization !== undefined ? { organization } : {}),
  };
}

/** Whether an issuer matches one of the expected fragments (case-insensitive). */
export function issuerIsExpected(issuer: CertificateName, expected: readonly string[]): boolean {
  const names = [issuer.organization, issuer.commonName].flatMap((name) =>
    name !== undefined ? [name.toLowerCase()] : [],
  );
  return expected.some((fragment) => names.some((name) => name.includes(fragment.toLowerCase())));
}

/** Inputs of one host's TLS check. */
export interface TlsCheckInput {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly trust: 'public' | 'cluster';
  readonly trustStore: TlsTrust;
  readonly allowConnect: ConnectPolicy;
}

/** The roots a host's certificate is verified against, or undefined when none are known. */
export function rootsFor(
  trust: 'public' | 'cluster',
  store: TlsTrust,
): readonly string[] | undefined {
  const roots = trust === 'public' ? store.publicRoots : store.clusterRoots;
  return roots.length > 0 ? roots : undefined;
}

/**
 * Handshakes with SNI set to the host name, verifies the chain against the trusted roots and
 * the name against the certificate, and records the issuer.
 */
export function runTlsCheck(input: TlsCheckInput, context: CheckContext): Promise<CheckOutcome> {
  const roots = rootsFor(input.trust, input.trustStore);
  const servername = isIP(input.host) === 0 ? input.host : '';
  const verifiedAgainst = roots === undefined ? 'none' : input.trust;
  const base = {
    kind: 'tls',
    address: input.address,
    port: input.port,
    servername,
    verifiedAgainst,
  } as const;
  if (!input.allowConnect(input.address)) {
    return Promise.resolve({
      status: 'skipped',
      detail: `not connecting to ${input.address}`,
      data: { ...base, error: 'not-allowed' },
    });
  }
  return new Promise((resolve) => {
    const socket = connect({
      host: input.address,
      port: input.port,
      ...(servername !== '' ? { servername } : {}),
      ...(roots !== undefined ? { secureContext: secureContextFor(roots) } : {}),
      // Verified below, so that a failure still yields the certificate and its issuer; the
      // name is checked separately so that `authorized` speaks about the chain alone.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      lookup: refuseLookup,
    });
    const finish = (outcome: CheckOutcome) => {
      context.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(outcome);
    };
    const onAbort = () =>
      finish({
        status: 'fail',
        detail: `handshake timed out after ${context.timeoutMs} ms`,
        data: { ...base, error: 'timeout' },
      });
    if (context.signal.aborted) {
      onAbort();
      return;
    }
    context.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error) => {
      const name = socketErrorName(error);
      finish({
        status: 'fail',
        detail: `handshake failed: ${name}`,
        data: { ...base, error: name },
      });
    });
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate();
      const issuer = certificateName(certificate.issuer);
      const subject = certificateName(certificate.subject);
      // An IP literal cannot go in SNI, but the certificate must still name it (IP SAN).
      const nameMatches = checkServerIdentity(input.host, certificate) === undefined;
      const chainValid = roots === undefined ? undefined : socket.authorized;
      const chainError =
        socket.authorizationError === null ? undefined : String(socket.authorizationError);
      const issuerExpected =
        input.trust === 'public' && input.trustStore.expectedIssuers.length > 0
          ? issuerIsExpected(issuer, input.trustStore.expectedIssuers)
          : undefined;
      const data: TlsData = {
        ...base,
        issuer,
        subject,
        nameMatches,
        validTo: certificate.valid_to,
        ...(chainValid !== undefined ? { chainValid } : {}),
        ...(chainValid === false && chainError !== undefined ? { chainError } : {}),
        ...(issuerExpected !== undefined ? { issuerExpected } : {}),
      };
      const issuerText = issuer.organization ?? issuer.commonName ?? 'unknown issuer';
      if (chainValid === false) {
        finish({
          status: 'fail',
          detail: `certificate from "${issuerText}" does not verify (${chainError ?? 'untrusted'})`,
          data,
        });
      } else if (!nameMatches) {
        finish({
          status: 'fail',
          detail: `certificate from "${issuerText}" is not valid for ${input.host}`,
          data,
        });
      } else if (issuerExpected === false) {
        finish({
          status: 'warn',
          detail: `issued by "${issuerText}", not an expected public CA`,
          data,
        });
      } else {
        const note = roots === undefined ? ' (chain not verified: no cluster CA known)' : '';
        finish({ status: 'pass', detail: `issuer "${issuerText}"${note}`, data });
      }
    });
  });
}
