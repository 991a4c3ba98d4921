// Test entry script: each request names what run() should do.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';

let calls = 0;

export function init() {
  console.log(`behaviours: init done in thread ${threadId}`);
}

export async function run(rawData) {
  calls += 1;
  const request = JSON.parse(rawData);
  switch (request.action ?? 'echo') {
    case 'echo':
      return { echo: request, calls, threadId };
    case 'raise':
      throw new TypeError(`bad input: ${request.detail ?? 'none'}`);
    case 'loop':
      // A synchronous loop: nothing inside this thread can interrupt it.
      for (;;);
    case 'wait':
      console.log('behaviours: waiting');
      while (!existsSync(request.file)) await sleep(10);
      return { waited: true, threadId };
    case 'print':
      console.log(`to stdout: ${request.text}`);
      console.error(`to stderr: ${request.text}`);
      return { printed: true };
    default:
      throw new Error(`unknown action ${request.action}`);
  }
}
