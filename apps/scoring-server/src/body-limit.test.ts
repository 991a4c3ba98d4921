// Request body limits through the real server. Slow-ish: moves about 200 MB over loopback.
import { request as httpRequest } from 'node:http';
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
  });

  it('answers 413 to an endless chunked body once it passes 100 MB', async () => {
    // The client never ends the body: a server that waited for the end would never answer.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${replica.url}/score`, { method: 'POST' });
      const chunk = Buffer.alloc(MB, 0x20);
      let answered = false;
      req.on('response', (res) => {
        answered = true;
        resolve(res.statusCode ?? 0);
        res.resume();
        req.destroy();
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (answered) return;
        // The server answers 413 and closes the connection without reading the rest; a client
        // still writing can hit the closed socket before it parses the answer. The metrics
        // below prove the 413 either way.
        if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve(413);
        else reject(error);
      });
      const pump = () => {
        while (!answered && req.write(chunk));
        if (!answered) req.once('drain', pump);
      };
      pump();
    });
    expect(status).toBe(413);
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    expect(metrics).toMatch(/skiff_scoring_requests_total\{status="413"[^}]*\} 2/);
  });
});
