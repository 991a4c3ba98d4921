import { skiffProject } from '../../vitest.shared.js';

export default skiffProject('router');
