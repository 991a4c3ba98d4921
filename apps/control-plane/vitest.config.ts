import { skiffProject } from '../../vitest.shared.js';

export default skiffProject('control-plane', { redis: true });
