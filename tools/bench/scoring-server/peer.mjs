// Comparison peers for the scoring-server benchmark, started as their own processes:
//   node peer.mjs static <responseFile>  bare node:http answering POST /score with fixed bytes
//   node peer.mjs inline <entryScript>   bare node:http calling the entry script's run() in-process
// Both read the whole request body first, like the scoring server. They print the bound port.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const [mode, file] = process.argv.slice(2);
let answer;
if (mode === 'static') {
  const bytes = await readFile(file);
  answer = () => bytes;
} else if (mode === 'inline') {
  const script = await import(pathToFileURL(file).href);
  await script.init?.();
  answer = async (body) => JSON.stringify(await script.run(body.toString('utf8')));
} else {
  console.error('usage: peer.mjs static <responseFile> | inline <entryScript>');
  process.exit(2);
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', async () => {
    const body = await answer(Buffer.concat(chunks));
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
