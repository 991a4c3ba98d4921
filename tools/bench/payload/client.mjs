// The payload benchmark's client: one POST of `bytes` bytes (Content-Length declared) to
// `url`, streamed from one reused 64 KiB buffer with backpressure, so the client never holds
// the body. Prints `{"status":…,"seconds":…,"answer":"…"}` (seconds from the first byte sent to
// the answer's end).
//
//   node tools/bench/payload/client.mjs <url> <bytes> [authorization]
import { request } from 'node:http';

const [url, size, authorization] = process.argv.slice(2);
const total = Number(size);
const chunk = Buffer.alloc(64 * 1024, 'x');
const started = performance.now();
const req = request(url, {
  method: 'POST',
  agent: false,
  headers: {
    'content-type': 'application/octet-stream',
    'content-length': String(total),
    ...(authorization ? { authorization } : {}),
  },
});
req.on('response', (res) => {
  let answer = '';
  res.setEncoding('utf8');
  res.on('data', (text) => (answer += text));
  res.on('end', () => {
    const seconds = (performance.now() - started) / 1_000;
    process.stdout.write(`${JSON.stringify({ status: res.statusCode, seconds, answer })}\n`);
  });
});
req.on('error', (error) => {
  process.stdout.write(`${JSON.stringify({ status: 0, error: error.message })}\n`);
});
let sent = 0;
function pump() {
  while (sent < total) {
    const part = Math.min(chunk.length, total - sent);
    sent += part;
    if (!req.write(part === chunk.length ? chunk : chunk.subarray(0, part))) {
      req.once('drain', pump);
      return;
    }
  }
  req.end();
}
pump();
