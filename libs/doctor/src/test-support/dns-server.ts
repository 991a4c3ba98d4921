import dns2, { type DnsServer, type Packet, type Resource } from 'dns2';
import type { Resolver } from '../net/resolvers.js';
import { assertLoopback } from './loopback.js';

const { Packet: DnsPacket } = dns2;

/** What a test DNS server knows about one name. */
export interface ZoneRecord {
  readonly a?: readonly string[];
  readonly aaaa?: readonly string[];
  readonly cname?: string;
  /** Answer every question for this name with this error. */
  readonly rcode?: 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';
  /** Answer AAAA questions for this name with this error (A still answers). */
  readonly aaaaRcode?: 'SERVFAIL' | 'REFUSED';
}

/** Names (lowercase, no trailing dot) → records. Unknown names get NXDOMAIN. */
export type Zone = Readonly<Record<string, ZoneRecord>>;

/** How a test DNS server misbehaves. */
export interface DnsServerBehaviour {
  /** Wait this long before every answer. */
  readonly delayMs?: number;
  /** Never answer (a resolver behind a firewall that drops port 53). */
  readonly silent?: boolean;
  /** Answer every question with this error (a server that does not forward at all). */
  readonly rcode?: 'REFUSED' | 'SERVFAIL';
}

/** A dns2 server on a loopback address and a kernel-assigned UDP port. */
export interface TestDnsServer {
  readonly resolver: Resolver;
  /** Questions received, as `TYPE name`, for assertions about what was asked. */
  readonly questions: readonly string[];
  close(): Promise<void>;
}

const rcodes = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const typeNames: Readonly<Record<number, string>> = { 1: 'A', 28: 'AAAA', 5: 'CNAME' };

function answer(zone: Zone, request: Packet, behaviour: DnsServerBehaviour): Packet {
  const response = DnsPacket.createResponseFromRequest(request);
  response.header.ra = 1;
  const [question] = request.questions;
  if (question === undefined) return response;
  if (behaviour.rcode !== undefined) {
    response.header.rcode = rcodes[behaviour.rcode];
    return response;
  }
  let name = question.name.toLowerCase().replace(/\.$/, '');
  for (let hop = 0; hop < 10; hop += 1) {
    const record = zone[name];
    if (record === undefined) {
      // A CNAME whose target is unknown here answers NOERROR with the chain only, as recursive
      // resolvers do for an unresolvable target in another zone.
      response.header.rcode = hop === 0 ? rcodes.NXDOMAIN : rcodes.NOERROR;
      return response;
    }
    if (record.rcode !== undefined) {
      response.header.rcode = rcodes[record.rcode];
      return response;
    }
    if (record.cname !== undefined) {
      response.answers.push({
        name,
        type: DnsPacket.TYPE.CNAME,
        class: DnsPacket.CLASS.IN,
        ttl: 60,
        domain: record.cname,
      } as Resource);
      name = record.cname.toLowerCase();
      continue;
    }
    if (question.type === DnsPacket.TYPE.AAAA && record.aaaaRcode !== undefined) {
      response.header.rcode = rcodes[record.aaaaRcode];
      return response;
    }
    const addresses =
      question.type === DnsPacket.TYPE.A
        ? record.a
        : question.type === DnsPacket.TYPE.AAAA
          ? record.aaaa
          : undefined;
    for (const address of addresses ?? []) {
      response.answers.push({
        name,
        type: question.type,
        class: DnsPacket.CLASS.IN,
        ttl: 60,
        address,
      } as Resource);
    }
    return response;
  }
  response.header.rcode = rcodes.SERVFAIL;
  return response;
}

/**
 * Starts a DNS server on `address` (a 127.0.0.x address; Linux routes all of 127/8 to
 * loopback) answering from `zone`. Zone data is what the test says, so answers may name
 * public addresses — probes never connect to those (tests pass a loopback-only policy).
 */
export async function startDnsServer(
  address: string,
  zone: Zone,
  behaviour: DnsServerBehaviour = {},
): Promise<TestDnsServer> {
  assertLoopback(address, 'test DNS server');
  const questions: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: DnsServer = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const [question] = request.questions;
      if (question !== undefined)
        questions.push(`${typeNames[question.type] ?? question.type} ${question.name}`);
      if (behaviour.silent === true) return;
      const reply = () => void send(answer(zone, request, behaviour)).catch(() => undefined);
      if (behaviour.delayMs === undefined) {
        reply();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        reply();
      }, behaviour.delayMs);
      timers.add(timer);
    },
  });
  server.on('requestError', () => undefined);
  const addresses = await server.listen({ udp: { port: 0, address } });
  const port = addresses.udp?.port;
  if (port === undefined) throw new Error('the test DNS server did not report its port');
  return {
    resolver: { address, port, label: `${address}:${port}` },
    questions,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await server.close();
    },
  };
}
