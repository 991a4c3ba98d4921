// Redirects and deadlines of one registry exchange, against small HTTP servers on loopback (a
// registry redirecting a blob download to storage on another origin, as ACR does).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { send } from './http.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const context = { role: 'global registry', registry: '127.0.0.1', operation: 'GET blob sha256:…' };

describe('send', () => {
  it('follows a redirect to another origin without the credentials, and keeps them on the same origin', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const storage = await serve((request, response) => {
      seen.push(request.headers);
      response.end('blob bytes');
    });
    const registry = await serve((request, response) => {
      seen.push(request.headers);
      if (request.url === '/v2/a/blobs/x') {
        response.writeHead(307, { location: '/v2/a/blobs/y' });
      } else {
        response.writeHead(307, { location: `${storage}/container/blob?sig=abc` });
      }
      response.end();
    });

    const response = await send(
      `${registry}/v2/a/blobs/x`,
      {
        method: 'GET',
        headers: { authorization: 'Bearer secret', accept: '*/*' },
        timeoutMs: 5000,
      },
      context,
    );

    expect(await response.text()).toBe('blob bytes');
    expect(seen.map((headers) => headers.authorization)).toEqual([
      'Bearer secret',
      'Bearer secret',
      undefined,
    ]);
    expect(seen[2]?.accept).toBe('*/*');
  });

  it('gives up on an answer that does not come, naming the registry', async () => {
    const silent = await serve(() => undefined);
    const error = await send(`${silent}/v2/`, { method: 'GET', timeoutMs: 200 }, context).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('RegistryUnavailable');
    expect((error as Error).message).toBe(
      `RegistryUnavailable: global registry 127.0.0.1 did not answer within 200 ms: GET ${silent}/v2/`,
    );
  });

  it('passes the caller’s abort on as it is', async () => {
    const silent = await serve(() => undefined);
    const controller = new AbortController();
    const pending = send(
      `${silent}/v2/`,
      { method: 'GET', timeoutMs: 60_000, signal: controller.signal },
      context,
    );
    controller.abort(new Error('cancelled by the caller'));
    await expect(pending).rejects.toThrow('cancelled by the caller');
  });
});
