import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkDeploymentConfig } from './deployment-config.js';
import { configFormatOfName, parseConfigDocument } from './document.js';
import { parseInferenceConfig } from './inference-config.js';
import { ConfigError } from './issues.js';

const text = (name: string) =>
  readFileSync(new URL(`../test-fixtures/${name}`, import.meta.url), 'utf8');
const parsed = (name: string) => parseConfigDocument(text(name), name);

/** The issues of a document that fails to parse, formatted as users see them. */
function parseErrors(source: string, file: string): string[] {
  try {
    parseConfigDocument(source, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error(`${file} parsed`);
}

describe('configFormatOfName', () => {
  it.each([
    ['deploymentconfig.json', 'json'],
    ['dir.v1/DeploymentConfig.JSON', 'json'],
    ['inferenceconfig.yml', 'yaml'],
    ['inferenceconfig.YAML', 'yaml'],
    ['deploymentconfig.txt', undefined],
    ['deploymentconfig', undefined],
  ])('%s → %s', (name, format) => {
    expect(configFormatOfName(name)).toBe(format);
  });
});

describe('parseConfigDocument', () => {
  it('reads a YAML deployment configuration like its JSON twin', () => {
    const yaml = checkDeploymentConfig(parsed('valid/aks-autoscale.deploymentconfig.yml'));
    const json = checkDeploymentConfig(parsed('valid/aks-autoscale.deploymentconfig.json'));
    expect(yaml.ok && json.ok).toBe(true);
    expect(yaml).toEqual(json);
  });

  it('reads a YAML inference configuration (nested spelling) like its JSON twin', () => {
    expect(parseInferenceConfig(parsed('valid/nested.inferenceconfig.yaml'))).toEqual(
      parseInferenceConfig(parsed('valid/nested.inferenceconfig.json')),
    );
  });

  it('takes yes/no/on/off as booleans, as PyYAML (what v1 used) did, but not y/n', () => {
    expect(parseConfigDocument('a: yes\nb: No\nc: on\nd: OFF\ne: y\nn: 1\n', 'dc.yml')).toEqual({
      a: true,
      b: false,
      c: true,
      d: false,
      e: 'y',
      n: 1,
    });
  });

  it('decides by content when the extension says nothing', () => {
    expect(parsed('invalid/yaml-instead-of-json.deploymentconfig.txt')).toEqual({
      computeType: 'aks',
      numReplicas: 2,
    });
    expect(parseConfigDocument('  {"computeType": "aks"}', 'dc.txt')).toEqual({
      computeType: 'aks',
    });
  });

  it('ignores a byte-order mark in either format', () => {
    expect(parseConfigDocument('\uFEFFcomputeType: aks\n', 'dc.yaml')).toEqual({
      computeType: 'aks',
    });
    expect(parseConfigDocument('\uFEFF{"computeType":"aks"}', 'dc.json')).toEqual({
      computeType: 'aks',
    });
  });

  it('says a .json file holds YAML, and what to do, instead of only "Unexpected token"', () => {
    const [line, ...rest] = parseErrors(
      'computeType: aks\nnumReplicas: 2\n',
      'deploymentconfig.json',
    );
    expect(rest).toEqual([]);
    expect(line).toMatch(/^deploymentconfig\.json: not valid JSON: .+; the file holds YAML: /);
    expect(line).toContain('rename it to deploymentconfig.yml');
  });

  it('reports broken JSON in a .json file without a YAML hint', () => {
    const [line] = parseErrors('{"computeType": "aks",}', 'deploymentconfig.json');
    expect(line).toMatch(/^deploymentconfig\.json: not valid JSON: /);
    expect(line).not.toContain('YAML');
  });

  it('reports broken YAML with the file and the line', () => {
    expect(parseErrors('computeType: aks\nautoScaler: [1\nnumReplicas: 2\n', 'dc.yml')).toEqual([
      expect.stringMatching(/^dc\.yml: not valid YAML: .+ \(line \d+, column \d+\)$/),
    ]);
    expect(parseErrors('computeType: aks\ncomputeType: local\n', 'dc.yml')).toEqual([
      'dc.yml: not valid YAML: Map keys must be unique (line 2, column 1)',
    ]);
  });

  it('gives YAML field errors the same file + path as JSON ones', () => {
    const result = checkDeploymentConfig(
      parseConfigDocument('computeType: aks\nautoScaler:\n  maxReplicas: many\n', 'dc.yml'),
      { file: 'dc.yml' },
    );
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          file: 'dc.yml',
          path: 'autoScaler.maxReplicas',
          message: 'expected an integer >= 1, got "many"',
        },
      ],
    });
  });

  it('any JSON value written as YAML reads back as the same value', () => {
    // Strings are kept to ones whose plain YAML form is unambiguous under YAML 1.1.
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc
          .stringMatching(/^[a-z][a-z0-9 ._-]{0,20}$/)
          .filter((s) => !/^(?:yes|no|on|off|true|false|null|y|n)$/i.test(s)),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.stringMatching(/^[a-z][A-Za-z0-9]{0,10}$/), tie('node'), {
          maxKeys: 4,
        }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z][A-Za-z]{0,10}$/), value), (input) => {
        expect(parseConfigDocument(stringify(input), 'x.yml')).toEqual(input);
        expect(parseConfigDocument(JSON.stringify(input), 'x.json')).toEqual(input);
      }),
    );
  });
});
