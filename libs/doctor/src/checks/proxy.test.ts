import { describe, expect, it } from 'vitest';
import { noProxyCovers, proxyFindings } from './proxy.js';

const needs = {
  apiServer: ['aks1.hcp.westeurope.azmk8s.io', '10.0.0.1'],
  podCidr: '10.244.0.0/16',
};

describe('proxyFindings', () => {
  it('is silent without a proxy', () => {
    expect(proxyFindings({ NO_PROXY: '' }, needs)).toBeUndefined();
  });

  it('lists the API server, .svc, .cluster.local and the pod network when NO_PROXY misses them', () => {
    const findings = proxyFindings(
      { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'localhost,127.0.0.1' },
      needs,
    );
    expect(findings?.missing).toEqual([
      'aks1.hcp.westeurope.azmk8s.io',
      '10.0.0.1',
      '.svc',
      '.cluster.local',
      '10.244.0.0/16',
    ]);
  });

  it('is satisfied by suffixes, CIDRs and lowercase variables', () => {
    const findings = proxyFindings(
      {
        https_proxy: 'http://proxy.corp:3128',
        no_proxy: '.azmk8s.io, 10.0.0.0/8 ,.svc,.cluster.local',
      },
      needs,
    );
    expect(findings?.missing).toEqual([]);
    expect(findings?.unchecked).toEqual([]);
  });

  it('says what it could not check when the pod network is unknown', () => {
    const findings = proxyFindings({ HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }, { apiServer: [] });
    expect(findings?.missing).toEqual([]);
    expect(findings?.unchecked).toEqual(['pod network (pass --pod-cidr)']);
  });
});

describe('noProxyCovers', () => {
  it.each([
    ['*', 'anything.example', true],
    ['example.com', 'api.example.com', true],
    ['example.com', 'badexample.com', false],
    ['.example.com', 'example.com', true],
    ['*.example.com', 'a.example.com', true],
    ['10.0.0.0/8', '10.2.3.4', true],
    ['10.0.0.0/8', 'ten.example', false],
  ])('%s covers %s: %s', (list, host, expected) =>
    expect(noProxyCovers(list, host)).toBe(expected),
  );
});
