// Runs the real `skiff-doctor` binary against a loopback fixture and reports the wall time,
// for the timing figures in docs/doctor.md and the README example:
//   node --import @skiff/source-runtime/register apps/doctor/src/test-support/fixture-run.ts healthy [--no-pods]
//   node --import @skiff/source-runtime/register apps/doctor/src/test-support/fixture-run.ts blackhole [--timeout 5s]
//   node --import @skiff/source-runtime/register apps/doctor/src/test-support/fixture-run.ts broken --no-pods
// Everything stays on 127.0.0.x: the fixture's DNS servers answer every name with a loopback
// address, and the binary gets exactly those resolvers.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createSelfSigned,
  startDoctorFixture,
  type DoctorFixtureOptions,
  type EndpointMode,
} from '@skiff/doctor/test-support';

const [mode = 'healthy', ...rest] = process.argv.slice(2);
// --no-pods: leave the Kubernetes stub out (no cluster-side checks, no client-node load).
const withPods = !rest.includes('--no-pods');
const extra = rest.filter((arg) => arg !== '--no-pods');
if (!['healthy', 'blackhole', 'silent', 'broken'].includes(mode)) {
  console.error(
    'usage: fixture-run.ts healthy|blackhole|silent|broken [--no-pods] [skiff-doctor flags]',
  );
  process.exit(2);
}
const bin = fileURLToPath(new URL('../../bin/skiff-doctor.js', import.meta.url));
// Router peers and model pods listed by a loopback Kubernetes API stub, so the run covers
// the cluster side of the plan too.
const pod = (name: string) => ({ name, ip: '127.0.0.10', port: 'endpoint' as const });
// `broken`: a few things operators hit, to show the diagnoses.
const privatelink = 'skiffstore.privatelink.blob.core.windows.net';
const broken: DoctorFixtureOptions = {
  zone: {
    'mcr.microsoft.com': { a: ['127.0.0.10'], aaaaRcode: 'REFUSED' },
    'skiffstore.blob.core.windows.net': { cname: privatelink },
    [privatelink]: { a: ['20.60.1.1'] },
    'westeurope.data.mcr.microsoft.com': { rcode: 'NXDOMAIN' },
  },
  resolvers: [
    { address: '127.0.0.2', zone: { 'skiffacr.azurecr.io': { rcode: 'REFUSED' } } },
    { address: '127.0.0.3' },
  ],
  certificates: new Map([['api.azureml.ms', await createSelfSigned(['api.azureml.ms'])]]),
};
const world = await startDoctorFixture({
  ...(mode === 'broken' ? broken : {}),
  endpoints: (mode === 'broken' ? 'healthy' : mode) as EndpointMode,
  ...(withPods
    ? {
        pods: new Map([
          ['skiff/skiff.io/component=router', [pod('router-0'), pod('router-1')]],
          ['skiff/skiff.io/component=replica', [pod('model-0')]],
        ]),
      }
    : {}),
});
try {
  const args = [...world.cliArgs(), ...extra];
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { PATH: process.env['PATH'] ?? '' },
    });
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const wall = Math.round(performance.now() - started);
  console.log(
    `\nfixture-run: mode=${mode} exit=${code ?? 'signal'} wall=${wall} ms (process start to exit, including Node and TypeScript loading)`,
  );
} finally {
  await world.close();
}
