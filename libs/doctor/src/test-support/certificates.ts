import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 types use the DOM's Crypto, which this Node-only project does not load.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** A test certificate authority that issues server certificates. */
export interface TestCa extends PemPair {
  /** The organisation in the CA's name (what the doctor records as issuer). */
  readonly organization: string;
  issue(names: readonly string[]): Promise<PemPair>;
}

const validity = () => ({
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 86_400_000),
});
const serial = () => `01${randomBytes(8).toString('hex')}`;

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

function keyPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

function serverExtensions(names: readonly string[]): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(
      names.map((value) => ({
        type: isIP(value) === 0 ? ('dns' as const) : ('ip' as const),
        value,
      })),
    ),
  ];
}

/** Creates a CA named `CN=<organization> Root, O=<organization>`. */
export async function createTestCa(organization = 'skiff test CA'): Promise<TestCa> {
  const keys = await keyPair();
  const name = `CN=${organization} Root, O=${organization}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    ...validity(),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    organization,
    cert: ca.toString('pem'),
    key: keyPem(keys.privateKey),
    async issue(names) {
      const leafKeys = await keyPair();
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${names[0] ?? 'localhost'}`,
        issuer: ca.subject,
        ...validity(),
        publicKey: leafKeys.publicKey,
        signingKey: keys.privateKey,
        signingAlgorithm: algorithm,
        extensions: [
          ...serverExtensions(names),
          await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      return { cert: leaf.toString('pem'), key: keyPem(leafKeys.privateKey) };
    },
  };
}

/**
 * A self-signed certificate for `names`, as a TLS-inspecting proxy presents when nobody
 * installed its CA: the chain cannot verify.
 */
export async function createSelfSigned(
  names: readonly string[],
  organization = 'Interceptor Inc',
): Promise<PemPair> {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${names[0] ?? 'localhost'}, O=${organization}`,
    ...validity(),
    keys,
    signingAlgorithm: algorithm,
    extensions: serverExtensions(names),
  });
  return { cert: cert.toString('pem'), key: keyPem(keys.privateKey) };
}
