// The build Job and its ConfigMap, compared with golden files (see test-support/golden.ts for how
// to regenerate them) and validated against the Kubernetes OpenAPI schemas (kubernetes-models).
import { InvalidArgumentError } from '@skiff/errors';
import { environmentHash, environmentImageTag } from '@skiff/hashing';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { describe, expect, it } from 'vitest';
import {
  buildJobName,
  environmentBuildJob,
  registryAuthSecret,
  type BuildJobOptions,
} from './build-job.js';
import { environmentBuildContext } from './dockerfile.js';
import { expectGolden } from './test-support/golden.js';

const environment = {
  baseImage: 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04',
  condaDependencies:
    'channels: [conda-forge]\ndependencies: [python=3.10, {pip: [numpy==1.26.4]}]\n',
};
const hash = environmentHash(environment);
const image = `127.0.0.1:5000/skiff/environments:${environmentImageTag(hash)}`;
const context = environmentBuildContext(environment, {
  scoringRuntimeImage: 'registry.skiff.test/skiff/scoring-runtime:0.1.0',
});
const base: BuildJobOptions = { namespace: 'team-a', environmentHash: hash, image, context };
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

describe('environmentBuildJob', () => {
  it('matches the golden Job and ConfigMap, and both are valid Kubernetes objects', async () => {
    const { configMap, job } = environmentBuildJob({
      ...base,
      insecureRegistry: true,
      registryAuthSecretName: 'skiff-registry-auth',
    });
    await expectGolden('build-job/insecure-with-auth', {
      'job.json': json(job),
      'configmap.json': json(configMap),
    });
    expect(() =>
      new Job(job as unknown as ConstructorParameters<typeof Job>[0]).validate(),
    ).not.toThrow();
    expect(() =>
      new ConfigMap(configMap as unknown as ConstructorParameters<typeof ConfigMap>[0]).validate(),
    ).not.toThrow();
  });

  it('runs rootless BuildKit daemonless, as its documentation asks, and pushes to the image', () => {
    const { job } = environmentBuildJob(base);
    const pod = job.spec?.template.spec;
    const buildkit = pod?.containers[0];
    expect(buildkit?.image).toMatch(/^moby\/buildkit:v\d+\.\d+\.\d+-rootless$/);
    expect(buildkit?.command).toEqual(['buildctl-daemonless.sh']);
    expect(buildkit?.args).toContain('--frontend=dockerfile.v0');
    expect(buildkit?.args).toContain(`--output=type=image,name=${image},push=true`);
    expect(buildkit?.securityContext).toMatchObject({
      runAsUser: 1000,
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(buildkit?.env).toContainEqual({
      name: 'BUILDKITD_FLAGS',
      value: '--oci-worker-no-process-sandbox',
    });
    expect(buildkit?.volumeMounts?.map((m) => m.name)).toEqual(['context', 'buildkitd']);
    expect(pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(job.spec?.backoffLimit).toBe(0);
  });

  it('carries the whole build context in the ConfigMap, and is a pure function of its options', () => {
    const { configMap } = environmentBuildJob(base);
    expect(configMap.data).toEqual({ Dockerfile: context.dockerfile, ...context.files });
    expect(environmentBuildJob(base)).toEqual(environmentBuildJob(base));
  });

  it('names the Job after the hash, within a DNS label', () => {
    const name = buildJobName(hash);
    expect(name).toBe(`skiff-build-${hash.slice(-64, -44)}`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(environmentBuildJob(base).job.metadata?.name).toBe(name);
  });

  it('refuses a context that does not fit a ConfigMap', () => {
    const large = { ...context, files: { 'requirements.txt': 'x'.repeat(1024 * 1024) } };
    expect(() => environmentBuildJob({ ...base, context: large })).toThrow(InvalidArgumentError);
    expect(() => environmentBuildJob({ ...base, context: large })).toThrow(
      /is 10\d{5} bytes .*at most 921600 fit the ConfigMap/,
    );
  });
});

describe('registryAuthSecret', () => {
  it('writes a valid dockerconfigjson Secret, entries sorted', () => {
    const secret = registryAuthSecret('skiff-registry-auth', 'team-a', [
      { registry: 'teamacr.azurecr.io', username: 'u2', password: 'p2' },
      { registry: '127.0.0.1:5000', username: 'u1', password: 'p1' },
    ]);
    expect(() =>
      new Secret(secret as unknown as ConstructorParameters<typeof Secret>[0]).validate(),
    ).not.toThrow();
    expect(JSON.parse(secret.stringData?.['.dockerconfigjson'] ?? '')).toEqual({
      auths: {
        '127.0.0.1:5000': { auth: Buffer.from('u1:p1').toString('base64') },
        'teamacr.azurecr.io': { auth: Buffer.from('u2:p2').toString('base64') },
      },
    });
    expect(Object.keys(JSON.parse(secret.stringData?.['.dockerconfigjson'] ?? '{}').auths)).toEqual(
      ['127.0.0.1:5000', 'teamacr.azurecr.io'],
    );
  });
});
