#!/usr/bin/env node
// Creates the skeleton of a new app or lib with the workspace's conventions:
//   node tools/scripts/scaffold.mjs lib <name> [--redis]
//   node tools/scripts/scaffold.mjs app <name> [--redis]
// Then run `npx nx sync` to wire TypeScript project references.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [kind, name, ...flags] = process.argv.slice(2);
if (!['lib', 'app'].includes(kind ?? '') || !name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: scaffold.mjs lib|app <name> [--redis]');
  process.exit(2);
}
const dir = join(kind === 'lib' ? 'libs' : 'apps', name);
if (existsSync(dir)) {
  console.error(`${dir} exists already`);
  process.exit(1);
}
mkdirSync(join(dir, 'src'), { recursive: true });
const json = (value) => JSON.stringify(value, null, 2) + '\n';
const write = (file, text) => writeFileSync(join(dir, file), text);

write(
  'package.json',
  json({
    name: `@skiff/${name}`,
    version: '0.1.0',
    private: true,
    type: 'module',
    exports: {
      '.': {
        '@skiff/source': './src/index.ts',
        types: './dist/index.d.ts',
        default: './dist/index.js',
      },
      './package.json': './package.json',
    },
    nx: { name, tags: [kind === 'lib' ? 'type:lib' : 'type:app'] },
  }),
);
write(
  'tsconfig.json',
  json({
    files: [],
    include: [],
    references: [{ path: './tsconfig.lib.json' }, { path: './tsconfig.spec.json' }],
  }),
);
write(
  'tsconfig.lib.json',
  json({
    extends: '../../tsconfig.base.json',
    compilerOptions: {
      rootDir: 'src',
      outDir: 'dist',
      tsBuildInfoFile: 'dist/tsconfig.lib.tsbuildinfo',
    },
    include: ['src/**/*.ts'],
    exclude: ['src/**/*.test.ts', 'src/test-support/**'],
    references: [],
  }),
);
write(
  'tsconfig.spec.json',
  json({
    extends: '../../tsconfig.base.json',
    compilerOptions: {
      rootDir: '../..',
      outDir: './out-tsc/vitest',
      tsBuildInfoFile: './out-tsc/vitest/tsconfig.tsbuildinfo',
    },
    include: [
      'vitest.config.ts',
      '../../vitest.shared.ts',
      'src/**/*.test.ts',
      'src/test-support/**/*.ts',
    ],
    references: [{ path: './tsconfig.lib.json' }],
  }),
);
write('eslint.config.mjs', "export { default } from '../../eslint.config.mjs';\n");
write(
  'vitest.config.ts',
  `import { skiffProject } from '../../vitest.shared.js';\n\nexport default skiffProject('${name}'${flags.includes('--redis') ? ', { redis: true }' : ''});\n`,
);
write('src/index.ts', `/** @skiff/${name} */\nexport {};\n`);
// Same formatting as `npm run format` produces, so CI's format check passes untouched.
execFileSync('npx', ['prettier', '--write', dir], { stdio: 'ignore' });
console.log(`created ${dir}; now run: npm install && npx nx sync`);
