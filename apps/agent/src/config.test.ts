import { describe, expect, it } from 'vitest';
import { AGENT_VARIABLES, agentHelp, parseAgentEnv } from './config.js';

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

  it('documents every variable in --help', () => {
    const help = agentHelp();
    for (const name of Object.keys(AGENT_VARIABLES)) expect(help).toContain(name);
    expect(help).toMatch(/Usage: skiff-agent/);
  });
});
