import { describe, expect, it } from 'vitest';
import { AGENT_VARIABLES, agentHelp, parseAgentEnv } from './config.js';
import { registryLocation } from './runtime.js';

const required = { SKIFF_TOKEN: 'skf_x', SKIFF_WORKSPACE: 'team-a', SKIFF_COMPUTE: 'local' };

describe('agent configuration', () => {
  it('fills defaults for everything but the credential and the compute target', () => {
    const env = parseAgentEnv(required);
    expect(env.SKIFF_ENDPOINT).toBe('127.0.0.1:50051');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.SKIFF_JOB_CONCURRENCY).toBe(4);
    expect(env.SKIFF_CACHE_MAX_BYTES).toBe(10 * 1024 ** 3);
    expect(env.SKIFF_NODE_NAME.length).toBeGreaterThan(0);
  });

  it('names every bad variable and what it expected', () => {
    const error = (() => {
      try {
        parseAgentEnv({
          SKIFF_WORKSPACE: 'Team A',
          SKIFF_COMPUTE: 'local',
          SKIFF_ENDPOINT: 'nowhere',
          SKIFF_JOB_CONCURRENCY: '0',
        });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected a configuration error');
    })();
    expect(error.message.split('\n').sort()).toEqual([
      'SKIFF_ENDPOINT: expected host:port, e.g. 127.0.0.1:50051',
      'SKIFF_JOB_CONCURRENCY: expected at least 1',
      'SKIFF_TOKEN: required, the agent credential (role AGENT) of this compute target',
      'SKIFF_WORKSPACE: expected a DNS label (a-z, 0-9, -)',
    ]);
  });

  /** The message lines of the configuration error `env` causes, sorted. */
  const problems = (env: Record<string, string>): string[] => {
    try {
      parseAgentEnv(env);
    } catch (caught) {
      return (caught as Error).message.split('\n').sort();
    }
    throw new Error('expected a configuration error');
  };
  const kubernetes = {
    ...required,
    SKIFF_RUNTIME: 'kubernetes',
    SKIFF_KUBECONFIG: '/etc/skiff/kubeconfig',
    SKIFF_WORKSPACE_REGISTRY: 'https://acr.example.test/team-a/environments',
  };

  it('reads the kubernetes runtime: kubeconfig, namespaces, cache host path, registries', () => {
    const env = parseAgentEnv({
      ...kubernetes,
      SKIFF_NAMESPACE: 'skiff-system',
      SKIFF_NAMESPACES: 'team-a, team-b',
      SKIFF_WORKSPACE_REGISTRY_USERNAME: 'pusher',
      SKIFF_WORKSPACE_REGISTRY_PASSWORD: 'secret',
      SKIFF_GLOBAL_REGISTRY: 'http://127.0.0.1:5000',
      SKIFF_IMAGE_PULL_SECRETS: 'acr-pull',
    });
    expect(env.SKIFF_RUNTIME).toBe('kubernetes');
    expect(env.SKIFF_NAMESPACES).toEqual(['team-a', 'team-b']);
    expect(env.SKIFF_CACHE_HOST_PATH).toBe('/var/lib/skiff/cache');
    expect(env.SKIFF_IMAGE_PULL_SECRETS).toEqual(['acr-pull']);
    expect(registryLocation(env, 'WORKSPACE')).toEqual({
      registry: 'acr.example.test',
      scheme: 'https',
      repository: 'team-a/environments',
      credentials: { kind: 'basic', username: 'pusher', password: 'secret' },
    });
    expect(registryLocation(env, 'GLOBAL')).toEqual({
      registry: '127.0.0.1:5000',
      scheme: 'http',
      repository: 'skiff/environments',
    });
  });

  it('takes an acr identity without creating a credential', () => {
    const env = parseAgentEnv({
      ...kubernetes,
      SKIFF_WORKSPACE_REGISTRY_AUTH: 'acr',
      SKIFF_ACR_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
    });
    expect(registryLocation(env, 'WORKSPACE')?.credentials).toEqual({
      kind: 'acr',
      managedIdentityClientId: '00000000-0000-0000-0000-000000000001',
    });
  });

  it('needs a kubeconfig outside a cluster and a workspace registry on kubernetes', () => {
    expect(problems({ ...required, SKIFF_RUNTIME: 'kubernetes' })).toEqual([
      'SKIFF_KUBECONFIG: required with SKIFF_RUNTIME=kubernetes outside a cluster (no KUBERNETES_SERVICE_HOST: not in a pod with a ServiceAccount)',
      'SKIFF_WORKSPACE_REGISTRY: required with SKIFF_RUNTIME=kubernetes (replicas run environment images found or built there), e.g. https://myacr.azurecr.io/skiff/environments',
    ]);
    // In a pod, the ServiceAccount is the default.
    const inCluster = parseAgentEnv({
      ...kubernetes,
      SKIFF_KUBECONFIG: '',
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
    });
    expect(inCluster.SKIFF_KUBECONFIG).toBeUndefined();
    // The local runtime needs neither.
    expect(parseAgentEnv(required).SKIFF_RUNTIME).toBe('local');
  });

  it('names each bad kubernetes variable', () => {
    expect(
      problems({
        ...kubernetes,
        SKIFF_RUNTIME: 'docker',
        SKIFF_NAMESPACES: 'Team_A',
        SKIFF_CACHE_HOST_PATH: 'var/lib/skiff',
        SKIFF_WORKSPACE_REGISTRY: 'acr.example.test/envs',
        SKIFF_GLOBAL_REGISTRY: 'ftp://127.0.0.1/envs',
        SKIFF_GLOBAL_REGISTRY_AUTH: 'token',
      }),
    ).toEqual([
      'SKIFF_CACHE_HOST_PATH: expected an absolute path, e.g. /var/lib/skiff/cache',
      'SKIFF_GLOBAL_REGISTRY: expected http:// or https://, not ftp://, e.g. https://myacr.azurecr.io/skiff/environments or http://127.0.0.1:5000/skiff/environments',
      'SKIFF_GLOBAL_REGISTRY_AUTH: expected anonymous, basic or acr',
      'SKIFF_NAMESPACES: expected comma-separated DNS names (a-z, 0-9, -)',
      'SKIFF_RUNTIME: expected local or kubernetes',
      'SKIFF_WORKSPACE_REGISTRY: expected a URL with scheme, host and repository, e.g. https://myacr.azurecr.io/skiff/environments or http://127.0.0.1:5000/skiff/environments',
    ]);
    expect(
      problems({ ...kubernetes, SKIFF_WORKSPACE_REGISTRY: 'https://acr.example.test/Team A' }),
    ).toEqual([
      'SKIFF_WORKSPACE_REGISTRY: "Team%20A" is not a repository path (lower case, / separated), e.g. https://myacr.azurecr.io/skiff/environments or http://127.0.0.1:5000/skiff/environments',
    ]);
  });

  it('checks registry credentials against the authentication chosen', () => {
    expect(problems({ ...kubernetes, SKIFF_WORKSPACE_REGISTRY_USERNAME: 'pusher' })).toEqual([
      'SKIFF_WORKSPACE_REGISTRY_PASSWORD: required with basic authentication to the workspace registry',
    ]);
    expect(problems({ ...kubernetes, SKIFF_WORKSPACE_REGISTRY_AUTH: 'basic' })).toEqual([
      'SKIFF_WORKSPACE_REGISTRY_USERNAME: required with basic authentication to the workspace registry',
    ]);
    expect(
      problems({
        ...kubernetes,
        SKIFF_WORKSPACE_REGISTRY_AUTH: 'acr',
        SKIFF_WORKSPACE_REGISTRY_PASSWORD: 'secret',
        SKIFF_GLOBAL_REGISTRY_AUTH: 'anonymous',
      }),
    ).toEqual([
      'SKIFF_GLOBAL_REGISTRY_AUTH: set without SKIFF_GLOBAL_REGISTRY',
      'SKIFF_WORKSPACE_REGISTRY_AUTH: acr takes no user name or password (set it to basic, or unset SKIFF_WORKSPACE_REGISTRY_USERNAME/PASSWORD)',
    ]);
  });

  it('documents every variable in --help', () => {
    const help = agentHelp();
    for (const name of Object.keys(AGENT_VARIABLES)) expect(help).toContain(name);
    expect(help).toMatch(/Usage: skiff-agent/);
  });
});
