import { WebserviceSpec } from '@skiff/proto';
import { describe, expect, it } from 'vitest';
import { applyFieldMask } from './field-mask.js';

const spec = (description: string, tags: Record<string, string> = {}): WebserviceSpec =>
  WebserviceSpec.fromPartial({
    compute: 'local',
    deploymentConfig: { description, tags, autoScaler: { maxReplicas: 2 } },
  });

describe('applyFieldMask', () => {
  it('copies the named fields only, nested and whole, clearing ones the patch lacks', () => {
    const patched = applyFieldMask(
      spec('old', { a: '1' }),
      WebserviceSpec.fromPartial({ deploymentConfig: { description: 'new', tags: { b: '2' } } }),
      ['deployment_config.description', 'deployment_config.auto_scaler', 'compute'],
    );
    expect(patched.deploymentConfig?.description).toBe('new');
    expect(patched.deploymentConfig?.tags).toEqual({ a: '1' });
    expect(patched.deploymentConfig?.autoScaler).toBeUndefined();
    expect(patched.compute).toBe('');
  });

  it('never touches a prototype, even when the patch carries a __proto__ of its own', () => {
    // JSON.parse makes "__proto__" an own property, as a decoder that trusted names would.
    const hostile = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "deploymentConfig": {"__proto__": {"polluted": "yes"}}}',
    ) as WebserviceSpec;
    for (const path of [
      '__proto__',
      '__proto__.polluted',
      'deployment_config.__proto__',
      'deployment_config.__proto__.polluted',
      'constructor.prototype',
      'deployment_config.tags.__proto__',
    ]) {
      expect(() => applyFieldMask(spec('x'), hostile, [path])).toThrow(`'${path}'`);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  });

  it('refuses every path before applying any (no half-applied mask)', () => {
    const current = spec('old');
    expect(() =>
      applyFieldMask(current, spec('new'), ['deployment_config.description', 'toString']),
    ).toThrow("update_mask: 'toString'");
    expect(current.deploymentConfig?.description).toBe('old');
  });
});
