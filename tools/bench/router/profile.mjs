// Summarises a V8 .cpuprofile (node --cpu-prof) over a time window: self time by function and
// by where the code lives (the router's sources, a package, Node's internals, GC), and total
// (inclusive) time of the functions outside Node's internals, for the benchmark's report.
import { readFileSync } from 'node:fs';

/** Where a function's code lives, coarsely: a package, skiff's sources, or Node itself. */
function origin(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(apps|libs|tools)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url;
}

function label({ functionName, url, lineNumber }) {
  const name = functionName || '(anonymous)';
  if (!url) return name;
  return `${name} ${url.replace(/^.*\/(node_modules|apps|libs)\//, '$1/')}:${lineNumber + 1}`;
}

/**
 * Top `limit` functions and origins by self time, and functions outside node: by total time,
 * in percent of the samples taken between `fromEndUs` and `toEndUs` microseconds before the
 * profile's end (the whole profile when not given).
 */
export function summariseProfile(file, { fromEndUs = Infinity, toEndUs = 0, limit = 20 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const from = profile.endTime - fromEndUs;
  const to = profile.endTime - toEndUs;
  const hits = new Map();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (at < from || at > to) return;
    total++;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  total ||= 1;
  const self = new Map();
  const origins = new Map();
  const inclusive = new Map();
  for (const [id, count] of hits) {
    const frame = byId.get(id).callFrame;
    const key = label(frame);
    self.set(key, (self.get(key) ?? 0) + count);
    const where = origin(frame.url, frame.functionName || '(anonymous)');
    origins.set(where, (origins.get(where) ?? 0) + count);
    const onStack = new Set();
    for (let node = id; node !== undefined; node = parent.get(node)) {
      const callFrame = byId.get(node).callFrame;
      if (callFrame.url && !callFrame.url.startsWith('node:')) onStack.add(label(callFrame));
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + count);
  }
  const top = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, count]) => ({ name, percent: (100 * count) / total }));
  return {
    samples: total,
    functions: top(self),
    origins: top(origins),
    inclusive: top(inclusive),
  };
}
