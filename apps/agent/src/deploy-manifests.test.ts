import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AGENT_VARIABLES, parseAgentEnv } from './config.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { key: string } };
}

const manifest = (file: string) =>
  parseAllDocuments(
    readFileSync(fileURLToPath(new URL(`../../../deploy/agent/${file}`, import.meta.url)), 'utf8'),
  ).map((document) => document.toJS() as Record<string, unknown>);

// deploy/agent sets what the agent reads, and nothing it does not: a variable renamed on
// one side only would be silently ignored (or missing) in a cluster.
describe('the DaemonSet in deploy/agent', () => {
  const [configMap] = manifest('configmap.yaml') as [{ data: Record<string, string> }];
  const [daemonSet] = manifest('daemonset.yaml') as [
    { spec: { template: { spec: { containers: { name: string; env: EnvVar[] }[] } } } },
  ];
  const agent = daemonSet.spec.template.spec.containers.find((c) => c.name === 'agent')!;

  it('sets only variables the agent reads', () => {
    const names = [...Object.keys(configMap.data), ...agent.env.map((e) => e.name)];
    const known = new Set(Object.keys(AGENT_VARIABLES));
    expect(names.filter((name) => !known.has(name))).toEqual([]);
  });

  it('is a valid kubernetes configuration of the agent as a pod would see it', () => {
    // What the kubelet fills in: downward API fields and Secret keys.
    const downward: Record<string, string> = {
      'spec.nodeName': 'aks-nodepool1-12345-vmss000000',
      'metadata.namespace': 'skiff',
    };
    const env: Record<string, string> = {
      ...configMap.data,
      KUBERNETES_SERVICE_HOST: '10.0.0.1',
    };
    for (const variable of agent.env) {
      const from = variable.valueFrom;
      if (variable.value !== undefined) env[variable.name] = variable.value;
      else if (from?.fieldRef) env[variable.name] = downward[from.fieldRef.fieldPath] ?? '';
      else if (from?.secretKeyRef?.key === 'token') env[variable.name] = 'skf_agent';
      // Optional registry keys: absent from the Secret of an anonymous registry.
    }
    const parsed = parseAgentEnv(env);
    expect(parsed.SKIFF_RUNTIME).toBe('kubernetes');
    expect(parsed.SKIFF_NODE_NAME).toBe('aks-nodepool1-12345-vmss000000');
    expect(parsed.SKIFF_NAMESPACE).toBe('skiff');
    expect(parsed.SKIFF_CACHE_HOST_PATH).toBe(parsed.SKIFF_CACHE_DIR);
    expect(parsed.SKIFF_KUBECONFIG).toBeUndefined();
  });
});
