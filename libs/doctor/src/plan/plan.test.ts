import { describe, expect, it } from 'vitest';
import { PlanError } from '../errors.js';
import { loadDefaultPlan, planFromUserText, validatePlan } from './load.js';
import { renderPlan, type RenderInput } from './render.js';

const allConditions = {
  tokenAuth: true,
  generatedEndpoint: true,
  acrDataEndpoint: true,
  inCluster: true,
};
const variables = {
  cluster: 'aks1',
  region: 'westeurope',
  acr: 'skiffacr',
  account: 'skiffstore',
  label: 'demo',
  namespace: 'skiff',
  kubernetesServiceHost: '10.0.0.1',
  kubernetesServicePort: '443',
};

function lines(input: RenderInput, plan: Awaited<ReturnType<typeof loadDefaultPlan>>): string {
  const rendered = renderPlan(plan, input);
  return [
    ...rendered.hosts.map(
      (host) =>
        `phase ${host.phase}  ${host.id.padEnd(18)} ${host.protocol.padEnd(5)} ${host.host}:${host.port}${host.http !== undefined ? ` GET ${host.http.path}` : ''}${host.required ? '' : ' (optional)'}`,
    ),
    ...rendered.pods.map(
      (pods) =>
        `phase ${pods.phase}  ${pods.id.padEnd(18)} pods  ${pods.namespace}/${pods.labelSelector} port ${pods.port}`,
    ),
    ...rendered.unchecked.map(
      (entry) => `phase ${entry.phase}  ${entry.id.padEnd(18)} ${entry.kind}: ${entry.reason}`,
    ),
    '',
  ].join('\n');
}

describe('the default plan', () => {
  it('renders every host of SPEC §6 from the template variables (golden)', async () => {
    const plan = await loadDefaultPlan();
    await expect(
      lines({ variables, conditions: allConditions, kubernetesAccess: true }, plan),
    ).toMatchFileSnapshot('./__golden__/default-plan.all-conditions.txt');
  });

  it('leaves conditional hosts out and names the flags that fill missing variables (golden)', async () => {
    const plan = await loadDefaultPlan();
    const none = {
      tokenAuth: false,
      generatedEndpoint: false,
      acrDataEndpoint: false,
      inCluster: false,
    };
    await expect(
      lines(
        {
          variables: { cluster: 'aks1', region: 'westeurope', namespace: 'skiff' },
          conditions: none,
          kubernetesAccess: false,
        },
        plan,
      ),
    ).toMatchFileSnapshot('./__golden__/default-plan.minimal.txt');
  });

  it('has unique ids, valid phases and a reason for every entry', async () => {
    const plan = await loadDefaultPlan();
    const ids = [...plan.hosts, ...plan.pods].map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const entry of [...plan.hosts, ...plan.pods]) expect(entry.why.length).toBeGreaterThan(20);
    expect(plan.hosts.find((host) => host.id === 'mcr-data')?.dataEndpointOf).toBe('mcr');
  });
});

describe('user plans', () => {
  it('extends the default plan with hosts and per-id overrides', async () => {
    const defaults = await loadDefaultPlan();
    const plan = planFromUserText(
      [
        'schemaVersion: 1',
        'extends: default',
        'hosts:',
        '  - { id: orders-db, phase: 5, host: "orders.{region}.example.net", port: 5432, protocol: tcp, why: The model reads orders. }',
        'overrides:',
        '  mcr: { host: mirror.example.net, port: 8443 }',
      ].join('\n'),
      'team.yaml',
      defaults,
    );
    const rendered = renderPlan(plan, {
      variables,
      conditions: allConditions,
      kubernetesAccess: false,
    });
    expect(rendered.hosts.find((host) => host.id === 'mcr')).toMatchObject({
      host: 'mirror.example.net',
      port: 8443,
    });
    expect(rendered.hosts.find((host) => host.id === 'orders-db')).toMatchObject({
      host: 'orders.westeurope.example.net',
      port: 5432,
      phase: 5,
    });
    expect(rendered.hosts.length).toBe(defaults.hosts.length + 1);
  });

  it('reads a whole plan in JSON without the default hosts', async () => {
    const plan = planFromUserText(
      JSON.stringify({
        schemaVersion: 1,
        name: 'only-db',
        hosts: [
          {
            id: 'db',
            phase: 5,
            host: 'db.example.net',
            port: 5432,
            protocol: 'tcp',
            why: 'The model calls it.',
          },
        ],
      }),
      'plan.json',
      await loadDefaultPlan(),
    );
    expect(plan.hosts.map((host) => host.id)).toEqual(['db']);
  });

  it.each([
    ['a wrong schema version', 'schemaVersion: 2\nhosts: []'],
    ['an unknown field', 'schemaVersion: 1\nextends: default\nhostz: []'],
    [
      'an override of a host that does not exist',
      'schemaVersion: 1\nextends: default\noverrides:\n  nope: { port: 1 }',
    ],
    [
      'a phase out of range',
      'schemaVersion: 1\nhosts:\n  - { id: x, phase: 6, host: x.example, protocol: tcp, why: because }',
    ],
    ['not YAML at all', 'schemaVersion: [1'],
  ])('rejects %s with a PlanError naming the file', async (_case, text) => {
    const defaults = await loadDefaultPlan();
    expect(() => planFromUserText(text, 'bad.yaml', defaults)).toThrow(PlanError);
    expect(() => planFromUserText(text, 'bad.yaml', defaults)).toThrow(/bad\.yaml/);
  });

  it('rejects duplicate ids and a data endpoint of an unknown host', () => {
    const host = { id: 'a', phase: 1, host: 'a.example', protocol: 'tcp', why: 'x' };
    expect(() => validatePlan({ schemaVersion: 1, name: 'p', hosts: [host, host] })).toThrow(
      /twice/,
    );
    expect(() =>
      validatePlan({ schemaVersion: 1, name: 'p', hosts: [{ ...host, dataEndpointOf: 'b' }] }),
    ).toThrow(/dataEndpointOf/);
  });

  it('rejects unknown template variables and names that are not host names', () => {
    const plan = (name: string) =>
      validatePlan({
        schemaVersion: 1,
        name: 'p',
        hosts: [{ id: 'a', phase: 1, host: name, protocol: 'tcp', why: 'x' }],
      });
    const input = { variables, conditions: allConditions, kubernetesAccess: false };
    expect(() => renderPlan(plan('{clusterr}.example'), input)).toThrow(
      /unknown template variable \{clusterr\}/,
    );
    expect(() => renderPlan(plan('bad_name!.example'), input)).toThrow(/not a valid host name/);
  });
});
