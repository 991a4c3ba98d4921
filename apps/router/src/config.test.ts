import { describe, expect, it } from 'vitest';
import { parseRouterConfig, RouterConfigError } from './config.js';

const base = {
  SKIFF_ENDPOINT: '127.0.0.1:50051',
  SKIFF_TOKEN: 'skf_x_y',
  SKIFF_WORKSPACE: 'team-a',
  SKIFF_COMPUTE: 'local',
};

describe('router configuration', () => {
  it('fills the defaults', () => {
    const config = parseRouterConfig(base);
    expect(config).toMatchObject({
      endpoint: '127.0.0.1:50051',
      listen: { host: '127.0.0.1', port: 8080 },
      logLevel: 'info',
      drainTimeoutMs: 30_000,
      startupWaitMs: 10_000,
      loadReportMs: 500,
    });
    expect(config.tls).toBeUndefined();
    expect(config.routerId).toMatch(new RegExp(`-${process.pid}$`));
  });

  it('takes TLS from the environment or the flags, and both listeners together', () => {
    const config = parseRouterConfig(
      {
        ...base,
        SKIFF_ROUTER_LISTEN: '[::1]:8081',
        SKIFF_ROUTER_TLS_LISTEN: '127.0.0.1:8443',
        SKIFF_TLS_KEY: '/env.key',
      },
      ['--tls-cert', '/flag.crt', '--tls-key=/flag.key'],
    );
    expect(config.listen).toEqual({ host: '::1', port: 8081 });
    expect(config.tls).toMatchObject({
      listen: { host: '127.0.0.1', port: 8443 },
      certPath: '/flag.crt',
      keyPath: '/flag.key',
    });
  });

  it('names every bad variable', () => {
    const attempt = () =>
      parseRouterConfig({ SKIFF_ROUTER_LISTEN: 'x', SKIFF_ROUTER_IDLE_TIMEOUT_MS: 'soon' });
    expect(attempt).toThrow(RouterConfigError);
    const message = (() => {
      try {
        attempt();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    for (const name of [
      'SKIFF_ENDPOINT',
      'SKIFF_TOKEN',
      'SKIFF_WORKSPACE',
      'SKIFF_COMPUTE',
      'SKIFF_ROUTER_LISTEN',
      'SKIFF_ROUTER_IDLE_TIMEOUT_MS',
    ]) {
      expect(message).toMatch(new RegExp(`^${name}: `, 'm'));
    }
  });

  it('requires the certificate and key with the HTTPS listener, and the listener with them', () => {
    expect(() => parseRouterConfig({ ...base, SKIFF_ROUTER_TLS_LISTEN: '127.0.0.1:8443' })).toThrow(
      /SKIFF_TLS_CERT: required[\s\S]*SKIFF_TLS_KEY: required/,
    );
    expect(() => parseRouterConfig(base, ['--tls-cert', '/a', '--tls-key', '/b'])).toThrow(
      /SKIFF_ROUTER_TLS_LISTEN/,
    );
    expect(() => parseRouterConfig(base, ['--tls-cert'])).toThrow(/--tls-cert: expected a path/);
    expect(() => parseRouterConfig(base, ['--verbose'])).toThrow(/unknown argument/);
  });
});
