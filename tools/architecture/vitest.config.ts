import { skiffProject } from '../../vitest.shared.js';

// ESLint with type information over real files is slow on small machines.
export default skiffProject('architecture', { testTimeout: 120_000 });
