// What a Kubernetes cluster gives the agent, on loopback: the API fake of @skiff/testing whose
// kubelet runs replica pods as real scoring-server processes (node directories standing in for
// hostPath volumes), and BuildKit Job pods that push an image like `buildctl … push=true` would
// (to the docker-registry instances of @skiff/testing's startTestRegistry).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  processPodRunner,
  type ContainerLaunch,
  type ContainerProcess,
  type KubernetesJson,
  type PodRunner,
} from '@skiff/testing';
import { repoRoot } from './processes.js';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function pushBlob(origin: string, repository: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const started = await fetch(`${origin}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  if (started.status !== 202) throw new Error(`blob upload refused: ${started.status}`);
  const location = new URL(started.headers.get('location') ?? '', origin);
  location.searchParams.set('digest', digest);
  const done = await fetch(location, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (done.status !== 201) throw new Error(`blob upload failed: ${done.status}`);
  return digest;
}

/**
 * Pushes a small OCI image (one layer) to `http://<registry>/<repository>:<tag>`, as a build
 * would; returns its manifest digest.
 */
export async function pushImage(
  registry: string,
  repository: string,
  tag: string,
): Promise<string> {
  const origin = `http://${registry}`;
  const layer = gzipSync(Buffer.from(`skiff e2e environment image ${tag}\n`));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(gzipSync(Buffer.alloc(0)))] },
      config: {},
    }),
  );
  const [layerDigest, configDigest] = [
    await pushBlob(origin, repository, layer),
    await pushBlob(origin, repository, config),
  ];
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: layerDigest,
          size: layer.length,
        },
      ],
    }),
  );
  const put = await fetch(`${origin}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201)
    throw new Error(`manifest push failed: ${put.status} ${await put.text()}`);
  return sha256(manifest);
}

// ---- the kubelet's pod runner ---------------------------------------------------------------

type Json = KubernetesJson;
const asObject = (value: unknown): Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
const asArray = (value: unknown): Json[] => (Array.isArray(value) ? value.map(asObject) : []);
const asString = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Where a node's host directories live: `<root>/<node>/<host path>`. */
export function nodeDirectory(root: string, node: string, hostPath = '/'): string {
  return join(root, node, hostPath);
}

/**
 * The container's volume mounts as host directories: a hostPath volume on node N is
 * `<root>/N/<path>`, with the mount's sub-path. Longest mount path first.
 */
function hostMounts(root: string, launch: ContainerLaunch, container: Json) {
  const spec = asObject(launch.pod['spec']);
  const volumes = new Map(asArray(spec['volumes']).map((v) => [asString(v['name']), v]));
  return asArray(container['volumeMounts'])
    .flatMap((mount) => {
      const hostPath = asString(
        asObject(volumes.get(asString(mount['name']))?.['hostPath'])['path'],
      );
      if (!hostPath) return [];
      const dir = join(nodeDirectory(root, launch.nodeName, hostPath), asString(mount['subPath']));
      return [{ mountPath: asString(mount['mountPath']), dir }];
    })
    .sort((a, b) => b.mountPath.length - a.mountPath.length);
}

function rewrite(text: string, mounts: { mountPath: string; dir: string }[]): string {
  for (const { mountPath, dir } of mounts) {
    if (text === mountPath || text.startsWith(`${mountPath}/`))
      return dir + text.slice(mountPath.length);
  }
  // Paths inside scripts (the init container's `sh -c`).
  return mounts.reduce((out, { mountPath, dir }) => out.split(mountPath).join(dir), text);
}

/**
 * Runs the pod's init containers (the fake's kubelet does not) as their `sh -c` commands with
 * the mounted paths mapped to the node's directories: the replicas' artifact wait runs exactly
 * as written in the manifest, against the cache the node's agent fills.
 */
async function runInitContainers(root: string, launch: ContainerLaunch): Promise<void> {
  for (const init of asArray(asObject(launch.pod['spec'])['initContainers'])) {
    const mounts = hostMounts(root, launch, init);
    const argv = [...(init['command'] as string[]), ...((init['args'] as string[]) ?? [])].map(
      (arg) => rewrite(arg, mounts),
    );
    const [command, ...args] = argv;
    if (command !== 'sh') throw new Error(`init container ${asString(init['name'])}: not sh -c`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn('/bin/sh', args, { stdio: 'ignore' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.once('exit', (exit) => {
        clearTimeout(timer);
        resolve(exit ?? 1);
      });
    });
    if (code !== 0) throw new Error(`init container ${asString(init['name'])} exited ${code}`);
  }
}

/** Lines pushed by hand, for a container that is not a process. */
function logOf(lines: string[]): AsyncIterable<string> {
  return (async function* () {
    for (const line of lines) yield `${line}\n`;
  })();
}

/**
 * The cluster's pod runner:
 * - a BuildKit Job pod pushes a small image to the `name=` of its `--output` (the registry is
 *   on loopback), exits 0 and logs as BuildKit would;
 * - any other pod is a replica: its init containers run (the artifact wait), then the
 *   environment image's entrypoint — `skiff-scoring-server` — starts as a real process, on
 *   127.0.0.1 instead of 0.0.0.0, with the mounted paths mapped to the node's directories.
 */
export function clusterPodRunner(root: string, builds: string[]): PodRunner {
  const scoringServer = join(repoRoot, 'apps/scoring-server/bin/skiff-scoring-server.js');
  const replicas = processPodRunner({
    args: [scoringServer],
    env: (launch, port, host) => {
      const container = asArray(asObject(launch.pod['spec'])['containers']).find(
        (c) => asString(c['name']) === launch.containerName,
      );
      const mounts = hostMounts(root, launch, container ?? {});
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(launch.env)) env[name] = rewrite(value, mounts);
      return { ...env, SKIFF_HOST: host, SKIFF_PORT: String(port) };
    },
  });
  return async (launch): Promise<ContainerProcess> => {
    if (launch.image.startsWith('moby/buildkit')) {
      const output = launch.args.find((arg) => arg.startsWith('--output='));
      const name = /name=([^,]+)/.exec(output ?? '')?.[1] ?? '';
      const match = /^(127\.0\.0\.1:\d+)\/(.+):([^:/]+)$/.exec(name);
      if (!match) throw new Error(`unexpected build output ${output}`);
      const [, registry = '', repository = '', tag = ''] = match;
      builds.push(name);
      const pushed = pushImage(registry, repository, tag);
      return {
        address: '127.0.0.1:1',
        exited: pushed.then(
          () => 0,
          () => 1,
        ),
        logs: logOf(['#1 [internal] load build definition from Dockerfile', `#9 pushing ${name}`]),
        stop: async () => undefined,
      };
    }
    await runInitContainers(root, launch);
    return replicas(launch);
  };
}

/** Creates the node directories an agent's cache lives in. */
export async function prepareNode(root: string, node: string, hostPath: string): Promise<string> {
  const dir = nodeDirectory(root, node, hostPath);
  await mkdir(dir, { recursive: true });
  return dir;
}
