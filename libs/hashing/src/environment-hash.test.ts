import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  environmentHash,
  environmentImageTag,
  isEnvironmentHash,
  normalizeEnvironment,
  parseEnvironmentHash,
  type EnvironmentDefinition,
} from './environment-hash.js';
import { canonicalJson } from './canonical-json.js';
import { EnvironmentDefinitionError } from './errors.js';

const BASE = 'mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest';

const CONDA = `name: project_environment
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.10
  - numpy=1.26.4
  - pip:
      - azureml-defaults==1.55.0
      - scikit-learn==1.4.2
`;

describe('environmentHash', () => {
  it('has the versioned form and is pinned for a reference environment', () => {
    const hash = environmentHash({ baseImage: BASE, condaDependencies: CONDA });
    expect(hash).toMatch(/^sha256:v1:[0-9a-f]{64}$/);
    // Pinned: if this changes, the algorithm changed and ENVIRONMENT_HASH_VERSION must be bumped
    // (every cached image would otherwise be rebuilt under a tag claiming the old meaning).
    expect(hash).toBe(PINNED_REFERENCE_HASH);
    expect(createHash('sha256').update(REFERENCE_CANONICAL_JSON).digest('hex')).toBe(
      hash.slice(10),
    );
    const normalized = normalizeEnvironment({ baseImage: BASE, condaDependencies: CONDA });
    expect(canonicalJson({ ...normalized, pip: normalized.pip ?? null })).toBe(
      REFERENCE_CANONICAL_JSON,
    );
  });

  it('ignores conda formatting, comments, quoting, key order and dependency order', () => {
    const reformatted = `# the model's environment
dependencies:   # unordered for the solver
- pip:
  - "scikit-learn == 1.4.2"   # pinned
  - azureml_defaults==1.55.0
- 'numpy=1.26.4'
-   python=3.10
channels: [conda-forge, defaults]
name: "project_environment"
`;
    expect(environmentHash({ baseImage: BASE, condaDependencies: reformatted })).toBe(
      environmentHash({ baseImage: BASE, condaDependencies: CONDA }),
    );
  });

  it('keeps channel order significant', () => {
    const swapped = CONDA.replace('  - conda-forge\n  - defaults', '  - defaults\n  - conda-forge');
    expect(swapped).not.toBe(CONDA);
    expect(environmentHash({ baseImage: BASE, condaDependencies: swapped })).not.toBe(
      environmentHash({ baseImage: BASE, condaDependencies: CONDA }),
    );
  });

  it('reads versions as written: python=3.1 and python=3.10 differ, as do 1.0 and 1.0.0', () => {
    const hashOf = (yaml: string) => environmentHash({ baseImage: BASE, condaDependencies: yaml });
    expect(hashOf('dependencies:\n  - python=3.10\n')).not.toBe(
      hashOf('dependencies:\n  - python=3.1\n'),
    );
    expect(hashOf('version: 3.10\n')).not.toBe(hashOf('version: 3.1\n'));
    expect(hashOf('dependencies:\n  - numpy=1.0\n')).not.toBe(
      hashOf('dependencies:\n  - numpy=1.0.0\n'),
    );
  });

  it('normalizes pip requirement lines per PEP 503 and drops comments and blank lines', () => {
    const a = 'numpy==1.26.4\nscikit-learn>=1.4,<1.5\nrequests[socks,security]==2.31.0\n';
    const b = `
# serving
Scikit_Learn >= 1.4 , < 1.5   # range
  REQUESTS [ Security , socks ] == 2.31.0

numpy == 1.26.4
`;
    expect(environmentHash({ baseImage: BASE, pipRequirements: b })).toBe(
      environmentHash({ baseImage: BASE, pipRequirements: a }),
    );
    expect(normalizeEnvironment({ baseImage: BASE, pipRequirements: b }).pip).toEqual([
      'numpy==1.26.4',
      'requests[security,socks]==2.31.0',
      'scikit-learn<1.5,>=1.4',
    ]);
  });

  it('keeps URLs, options and archives verbatim, and markers normalized', () => {
    const pip = normalizeEnvironment({
      baseImage: BASE,
      pipRequirements: [
        '--extra-index-url https://pypi.example.test/simple',
        'git+https://example.test/Org/Repo.git#egg=My_Pkg',
        './wheels/My_Pkg-1.0-py3-none-any.whl',
        "Torch==2.2.0 ; sys_platform == 'linux'",
        'My.Pkg @ https://example.test/My.Pkg-1.0.tar.gz',
        'pkg==1.0 --hash=sha256:abcd',
      ].join('\n'),
    }).pip;
    expect(pip).toEqual([
      '--extra-index-url https://pypi.example.test/simple',
      './wheels/My_Pkg-1.0-py3-none-any.whl',
      'git+https://example.test/Org/Repo.git#egg=My_Pkg',
      'my-pkg @ https://example.test/My.Pkg-1.0.tar.gz',
      'pkg==1.0 --hash=sha256:abcd',
      'torch==2.2.0; sys_platform=="linux"',
    ]);
  });

  it('changes with every input that shapes the image', () => {
    const reference: EnvironmentDefinition = {
      baseImage: BASE,
      baseImageRegistry: 'myacr.azurecr.io',
      extraDockerfileSteps: 'RUN apt-get update && apt-get install -y libgomp1',
      condaDependencies: CONDA,
      pipRequirements: 'requests==2.31.0',
      enableGpu: true,
      cudaVersion: '11.8',
    };
    const variants: EnvironmentDefinition[] = [
      { ...reference, baseImage: `${BASE}-v2` },
      { ...reference, baseImageRegistry: 'otheracr.azurecr.io' },
      { ...reference, baseDockerfile: 'FROM ubuntu:22.04' },
      {
        ...reference,
        extraDockerfileSteps: 'RUN apt-get update && apt-get install -y libgomp1 curl',
      },
      { ...reference, condaDependencies: CONDA.replace('numpy=1.26.4', 'numpy=1.26.3') },
      {
        ...reference,
        condaDependencies: CONDA.replace('  - defaults\n', '  - defaults\n  - pytorch\n'),
      },
      { ...reference, pipRequirements: 'requests==2.32.0' },
      { ...reference, enableGpu: false },
      { ...reference, cudaVersion: '12.1' },
    ];
    const hashes = new Set([reference, ...variants].map(environmentHash));
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('treats registry scheme, credentials, case and trailing slash as the same address', () => {
    const plain = environmentHash({ baseImage: BASE, baseImageRegistry: 'myacr.azurecr.io' });
    for (const spelled of [
      'https://myacr.azurecr.io/',
      'MyAcr.AzureCR.io',
      'https://user:s3cret@myacr.azurecr.io',
    ]) {
      expect(environmentHash({ baseImage: BASE, baseImageRegistry: spelled })).toBe(plain);
    }
    expect(
      normalizeEnvironment({
        baseImage: BASE,
        baseImageRegistry: 'https://user:s3cret@myacr.azurecr.io',
      }).baseImageRegistry,
    ).toBe('myacr.azurecr.io');
  });

  it('ignores Dockerfile line endings and trailing whitespace, not step content or order', () => {
    const steps = 'RUN pip install a\nRUN pip install b\n';
    const hashOf = (text: string) =>
      environmentHash({ baseImage: BASE, extraDockerfileSteps: text });
    expect(hashOf('\r\nRUN pip install a  \r\nRUN pip install b\r\n\r\n')).toBe(hashOf(steps));
    expect(hashOf('RUN pip install b\nRUN pip install a\n')).not.toBe(hashOf(steps));
  });

  it('treats an absent and an empty definition part alike', () => {
    expect(environmentHash({ baseImage: BASE, pipRequirements: '# nothing\n\n' })).toBe(
      environmentHash({ baseImage: BASE }),
    );
    expect(environmentHash({ baseImage: BASE, condaDependencies: '' })).toBe(
      environmentHash({ baseImage: BASE }),
    );
  });

  it('rejects conda YAML that does not parse or is not a mapping, naming the field', () => {
    expect(() =>
      environmentHash({ baseImage: BASE, condaDependencies: 'dependencies: [a, b' }),
    ).toThrow(EnvironmentDefinitionError);
    expect(() => environmentHash({ baseImage: BASE, condaDependencies: '- numpy\n' })).toThrow(
      /condaDependencies: a conda environment file must be a YAML mapping/,
    );
    expect(() => environmentHash({ baseImage: BASE, condaDependencies: 'a: 1\na: 2\n' })).toThrow(
      /condaDependencies: not valid YAML/,
    );
  });
});

describe('the string form', () => {
  it('parses what environmentHash produces and refuses anything else', () => {
    const hash = environmentHash({ baseImage: BASE });
    expect(parseEnvironmentHash(hash)).toBe(hash);
    expect(isEnvironmentHash(hash)).toBe(true);
    for (const bad of [
      hash.toUpperCase(),
      hash.replace('sha256:v1:', 'sha256:'),
      hash.replace('v1', 'v0'),
      `${hash}0`,
      hash.slice(0, -1),
      ` ${hash}`,
      '',
    ]) {
      expect(isEnvironmentHash(bad)).toBe(false);
      expect(() => parseEnvironmentHash(bad)).toThrow(
        /expected sha256:v<version>:<64 lowercase hex digits>/,
      );
    }
  });

  it('gives an OCI-valid image tag', () => {
    const hash = environmentHash({ baseImage: BASE });
    const tag = environmentImageTag(hash);
    expect(tag).toBe(`v1-${hash.slice('sha256:v1:'.length)}`);
    expect(tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });
});

// ---- properties -------------------------------------------------------------------------

interface Dependency {
  readonly name: string;
  readonly version: string;
}

const nameArb = fc
  .array(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('-'));
const versionArb = fc
  .tuple(fc.nat(30), fc.nat(30), fc.nat(30))
  .map(([major, minor, patch]) => `${major}.${minor}.${patch}`);
const depsArb = fc.uniqueArray(fc.record({ name: nameArb, version: versionArb }), {
  minLength: 1,
  maxLength: 8,
  selector: (dep) => dep.name,
});
const channelsArb = fc.uniqueArray(
  fc.constantFrom('conda-forge', 'defaults', 'pytorch', 'nvidia', 'bioconda'),
  {
    maxLength: 4,
  },
);

interface CondaEnv {
  readonly name: string;
  readonly channels: readonly string[];
  readonly conda: readonly Dependency[];
  readonly pip: readonly Dependency[];
}

const condaEnvArb: fc.Arbitrary<CondaEnv> = fc.record({
  name: nameArb,
  channels: channelsArb,
  conda: depsArb,
  pip: depsArb,
});

/** Every way of writing the same conda file that must not change the hash. */
interface CondaStyle {
  readonly indent: number;
  readonly keyOrder: readonly ('name' | 'channels' | 'dependencies')[];
  readonly flowChannels: boolean;
  readonly quote: '' | "'" | '"';
  readonly comments: boolean;
  readonly condaOrder: readonly number[];
  readonly pipOrder: readonly number[];
  readonly pipAt: number;
}

function styleArb(env: CondaEnv): fc.Arbitrary<CondaStyle> {
  const permutation = (n: number) =>
    fc.shuffledSubarray(
      Array.from({ length: n }, (_, i) => i),
      { minLength: n, maxLength: n },
    );
  return fc.record({
    indent: fc.constantFrom(2, 4),
    keyOrder: fc.shuffledSubarray(['name', 'channels', 'dependencies'] as const, {
      minLength: 3,
      maxLength: 3,
    }),
    flowChannels: fc.boolean(),
    quote: fc.constantFrom('' as const, "'" as const, '"' as const),
    comments: fc.boolean(),
    condaOrder: permutation(env.conda.length),
    pipOrder: permutation(env.pip.length),
    pipAt: fc.nat(env.conda.length),
  });
}

function renderConda(env: CondaEnv, style: CondaStyle): string {
  const pad = ' '.repeat(style.indent);
  const q = (text: string) => `${style.quote}${text}${style.quote}`;
  const note = (text: string) => (style.comments ? `  # ${text}` : '');
  const lines: string[] = style.comments ? ['# environment for the model', ''] : [];
  for (const key of style.keyOrder) {
    if (key === 'name') lines.push(`name: ${q(env.name)}${note('env name')}`);
    if (key === 'channels') {
      if (style.flowChannels || env.channels.length === 0) {
        lines.push(`channels: [${env.channels.map(q).join(', ')}]`);
      } else {
        lines.push(
          `channels:${note('priority order')}`,
          ...env.channels.map((c) => `${pad}- ${q(c)}`),
        );
      }
    }
    if (key === 'dependencies') {
      const items = style.condaOrder.map((i) => {
        const dep = env.conda[i]!;
        return `${pad}- ${q(`${dep.name}=${dep.version}`)}${note('conda')}`;
      });
      const pipLines = [
        `${pad}- pip:`,
        ...style.pipOrder.map((i) => {
          const dep = env.pip[i]!;
          return `${pad}${pad}- ${q(`${dep.name}==${dep.version}`)}`;
        }),
      ];
      items.splice(style.pipAt, 0, ...pipLines);
      lines.push('dependencies:', ...items);
    }
  }
  return `${lines.join('\n')}\n`;
}

const canonicalStyle = (env: CondaEnv): CondaStyle => ({
  indent: 2,
  keyOrder: ['name', 'channels', 'dependencies'],
  flowChannels: false,
  quote: '',
  comments: false,
  condaOrder: env.conda.map((_, i) => i),
  pipOrder: env.pip.map((_, i) => i),
  pipAt: env.conda.length,
});

const condaHash = (env: CondaEnv, style: CondaStyle) =>
  environmentHash({ baseImage: BASE, condaDependencies: renderConda(env, style) });

describe('environmentHash properties', () => {
  it('reformatting and reordering a conda file never changes the hash', () => {
    fc.assert(
      fc.property(
        condaEnvArb.chain((env) => fc.tuple(fc.constant(env), styleArb(env))),
        ([env, style]) => {
          expect(condaHash(env, style)).toBe(condaHash(env, canonicalStyle(env)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('changing any conda or pip version always changes the hash', () => {
    fc.assert(
      fc.property(condaEnvArb, fc.boolean(), fc.nat(), versionArb, (env, inPip, index, version) => {
        const list = inPip ? env.pip : env.conda;
        const at = index % list.length;
        fc.pre(list[at]!.version !== version);
        const changed = list.map((dep, i) => (i === at ? { ...dep, version } : dep));
        const other: CondaEnv = inPip ? { ...env, pip: changed } : { ...env, conda: changed };
        expect(condaHash(other, canonicalStyle(other))).not.toBe(
          condaHash(env, canonicalStyle(env)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('reordering channels changes the hash', () => {
    fc.assert(
      fc.property(condaEnvArb, (env) => {
        fc.pre(env.channels.length >= 2);
        const reversed = { ...env, channels: [...env.channels].reverse() };
        expect(condaHash(reversed, canonicalStyle(reversed))).not.toBe(
          condaHash(env, canonicalStyle(env)),
        );
      }),
    );
  });

  it('rewriting requirements.txt (order, case, separators, spacing, comments) never changes the hash', () => {
    const spelling = fc.record({
      separators: fc.array(fc.constantFrom('-', '_', '.', '--', '_.'), {
        minLength: 3,
        maxLength: 3,
      }),
      upper: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
      spaces: fc.constantFrom('', ' ', '  '),
      comment: fc.boolean(),
    });
    fc.assert(
      fc.property(
        depsArb.chain((deps) =>
          fc.tuple(
            fc.constant(deps),
            fc.shuffledSubarray([...deps], { minLength: deps.length, maxLength: deps.length }),
            fc.array(spelling, { minLength: deps.length, maxLength: deps.length }),
          ),
        ),
        ([deps, shuffled, spellings]) => {
          const plain = deps.map((d) => `${d.name}==${d.version}`).join('\n');
          const rewritten = shuffled
            .map((dep, i) => {
              const s = spellings[i]!;
              let sep = 0;
              const name = [...dep.name]
                .map((ch, k) =>
                  ch === '-' ? s.separators[sep++ % 3]! : s.upper[k % 20] ? ch.toUpperCase() : ch,
                )
                .join('');
              const line = `${s.spaces}${name}${s.spaces}==${s.spaces}${dep.version}${s.spaces}`;
              return s.comment ? `# about ${dep.name}\n${line}  # pinned\n` : line;
            })
            .join('\n');
          expect(environmentHash({ baseImage: BASE, pipRequirements: rewritten })).toBe(
            environmentHash({ baseImage: BASE, pipRequirements: plain }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('changing a requirements.txt version always changes the hash', () => {
    fc.assert(
      fc.property(depsArb, fc.nat(), versionArb, (deps, index, version) => {
        const at = index % deps.length;
        fc.pre(deps[at]!.version !== version);
        const text = (list: readonly Dependency[]) =>
          list.map((d) => `${d.name}==${d.version}`).join('\n');
        const changed = deps.map((dep, i) => (i === at ? { ...dep, version } : dep));
        expect(environmentHash({ baseImage: BASE, pipRequirements: text(changed) })).not.toBe(
          environmentHash({ baseImage: BASE, pipRequirements: text(deps) }),
        );
      }),
      { numRuns: 200 },
    );
  });
});

// The README's worked example: the canonical JSON of the reference environment, written out by
// hand, and its sha256 computed independently (Python's hashlib).
const REFERENCE_CANONICAL_JSON =
  '{"baseDockerfile":null,"baseImage":"mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest","baseImageRegistry":null,"conda":{"channels":["conda-forge","defaults"],"dependencies":["numpy=1.26.4","python=3.10",{"pip":["azureml-defaults==1.55.0","scikit-learn==1.4.2"]}],"name":"project_environment"},"cudaVersion":null,"enableGpu":false,"extraDockerfileSteps":null,"pip":null}';
const PINNED_REFERENCE_HASH =
  'sha256:v1:6de5b67d0e8c6188f5f1ef4e8c1524e854883b3bd4db6ad09ed5176c1ae3282c';
