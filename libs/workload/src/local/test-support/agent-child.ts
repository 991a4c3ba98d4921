// A stand-in agent for the crash tests, run as its own process so that the test can SIGKILL it
// in the middle of an apply: argv = stateDir, then the spec as JSON. Prints "applied" when
// apply returned, then keeps supervising until killed.
import type { WorkloadSpec } from '../../driver.js';
import { LocalProcessDriver } from '../local-process-driver.js';
import { testDriverOptions } from './harness.js';

const [stateDir, specJson] = process.argv.slice(2);
if (!stateDir || !specJson) throw new Error('usage: agent-child.ts <stateDir> <spec JSON>');
const driver = await LocalProcessDriver.open(testDriverOptions(stateDir));
await driver.apply(JSON.parse(specJson) as WorkloadSpec);
process.stdout.write('applied\n');
