// Request body limits through the real server. Slow-ish: moves about 200 MB over loopback.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  score,
  startReplica,
  type ReplicaProcess,
} from './test-support/replica-process.js';

const MB = 1024 * 1024;

describe('request bodies', () => {
  let replica: ReplicaProcess;
  beforeAll(async () => {
    replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/behaviours.py` },
      { until: 'ready' },
    );
  });
  afterAll(() => replica.stop());

  it('accepts a body just under 100 MB', { timeout: 60_000 }, async () => {
    const padding = 'x'.repeat(100 * MB - 100);
    const result = await score(replica, `{"action":"size","pad":"${padding}"}`);
    expect(result.status).toBe(200);
    expect((result.json as { bytes: number }).bytes).toBe(100 * MB - 100 + 26);
  });

  it('answers 413 from Content-Length alone, before any body byte is sent', async () => {
    const before = await counted413(replica);
    const { status, body } = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${replica.url}/score`, {
          method: 'POST',
          headers: { 'Content-Length': String(100 * MB + 1) },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.flushHeaders(); // headers only; the body never comes
      },
    );
    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({ error: `the request body exceeds ${100 * MB} bytes` });
    expect(await counted413(replica)).toBe(before + 1);
  });

  it('answers 413 to an endless chunked body once it passes 100 MB', async () => {
    const before = await counted413(replica);
    // A raw client that never ends the body: a server that waited for the end would never
    // answer. Only bytes the server really sent count; a connection reset before a 413 arrived
    // fails the test (the server must let the client read its answer while it still sends).
    const { received, error } = await new Promise<{ received: string; error?: Error }>(
      (resolve) => {
        const socket = connect(replica.port, '127.0.0.1');
        const chunk = Buffer.concat([
          Buffer.from(`${MB.toString(16)}\r\n`),
          Buffer.alloc(MB, 0x20),
          Buffer.from('\r\n'),
        ]);
        let received = '';
        let answered = false;
        let failure: Error | undefined;
        socket.setEncoding('latin1');
        socket.on('data', (text: string) => {
          received += text;
          if (!answered && parseResponse(received)) {
            answered = true;
            socket.destroy();
          }
        });
        socket.on('error', (error) => (failure = error));
        socket.on('close', () => resolve({ received, ...(failure ? { error: failure } : {}) }));
        socket.write(
          'POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
        const pump = () => {
          while (!answered && !socket.destroyed && socket.write(chunk));
          if (!answered && !socket.destroyed) socket.once('drain', pump);
        };
        pump();
      },
    );
    const response = parseResponse(received);
    expect({ status: response?.status, error: error?.message }).toEqual({
      status: 413,
      error: undefined,
    });
    expect(JSON.parse(response?.body ?? '')).toEqual({
      error: `the request body exceeds ${100 * MB} bytes`,
    });
    expect(await counted413(replica)).toBe(before + 1);
  });
});

/** Status and body of a complete HTTP/1.1 response in `raw`, or undefined while incomplete. */
function parseResponse(raw: string): { status: number; body: string } | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = raw.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
  const rest = raw.slice(end + 4);
  const length = /\r\ncontent-length: (\d+)/i.exec(head)?.[1];
  if (length !== undefined) {
    return rest.length >= Number(length)
      ? { status, body: rest.slice(0, Number(length)) }
      : undefined;
  }
  if (!/\r\ntransfer-encoding: chunked/i.test(head) || !rest.endsWith('0\r\n\r\n'))
    return undefined;
  let body = '';
  for (let at = 0; ;) {
    const lineEnd = rest.indexOf('\r\n', at);
    const size = parseInt(rest.slice(at, lineEnd), 16);
    if (size === 0) return { status, body };
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

async function counted413(replica: ReplicaProcess): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return Number(/skiff_scoring_requests_total\{status="413"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}
