// The tiny upstream of the router and payload benchmarks: a bare node:http server that reads
// and discards the request body, then answers a small JSON body (the byte count it read). It
// prints `{"port":N}` once it listens on 127.0.0.1.
//
//   node tools/bench/router/upstream.mjs
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  let bytes = 0;
  request.on('data', (chunk) => (bytes += chunk.length));
  request.on('end', () => {
    const body = `{"predictions":["setosa"],"bytes":${bytes}}`;
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
// Proxies keep idle connections up to 60 s (nginx) or 4 s (the router): the upstream must not
// close one first, or a proxy may send on a connection that is closing between rounds.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
