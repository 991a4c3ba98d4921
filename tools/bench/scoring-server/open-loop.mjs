// An open-loop load generator: requests are due at fixed instants (start + i / rate) whether or
// not earlier ones have been answered, over at most `connections` keep-alive connections. A
// request that finds every connection busy waits for one, and that wait counts.
//
// Two latencies per request, reported side by side:
//   - "scheduled": from the instant the request was due to its last response byte. This is the
//     latency a caller arriving at that rate sees, so it does not hide a server that falls behind
//     (no coordinated omission), and it needs no correction afterwards;
//   - "sent": from the moment the request was handed to a free connection to its last byte
//     (uncorrected, per request). Below every server's capacity the two agree closely.
// `lagMs` is how late this process's timer fired on average: a floor under "scheduled".
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Sends POST `body` to `url` at `rate` requests per second for `durationS` seconds. Resolves with
 * the sorted latencies of 2xx answers (ms), the count of other outcomes and the achieved rate.
 */
export async function openLoop({ url, body, rate, connections, durationS }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const payload = Buffer.from(body);
  const total = Math.max(1, Math.round(rate * durationS));
  const intervalMs = 1_000 / rate;
  const scheduled = [];
  const sent = [];
  let failed = 0;
  let lagSum = 0;
  const inFlight = new Set();

  const fire = (dueAt) => {
    const outcome = new Promise((resolve) => {
      let sentAt = performance.now();
      const req = httpRequest(url, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      });
      // The agent hands the request a socket when one is free; that is when it is really sent.
      req.once('socket', () => (sentAt = performance.now()));
      req.once('response', (res) => {
        res.on('data', () => undefined);
        res.once('end', () => {
          const end = performance.now();
          if (res.statusCode >= 200 && res.statusCode < 300) {
            scheduled.push(end - dueAt);
            sent.push(end - sentAt);
          } else {
            failed += 1;
          }
          resolve();
        });
      });
      req.once('error', () => {
        failed += 1;
        resolve();
      });
      req.end(payload);
    });
    inFlight.add(outcome);
    void outcome.then(() => inFlight.delete(outcome));
  };

  const start = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && start + next * intervalMs <= now) {
      const dueAt = start + next * intervalMs;
      lagSum += now - dueAt;
      fire(dueAt);
      next += 1;
    }
    if (next < total) await sleep(Math.max(0, start + next * intervalMs - performance.now()));
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - start) / 1_000;
  agent.destroy();
  scheduled.sort((a, b) => a - b);
  sent.sort((a, b) => a - b);
  return {
    scheduled,
    sent,
    failed,
    offeredRate: rate,
    achievedRate: (scheduled.length + failed) / elapsedS,
    lagMs: lagSum / total,
  };
}
