import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalProcessDriver } from '@skiff/workload';
import { pino } from 'pino';
import { startAgent } from './agent.js';
import { AgentConfigError, agentHelp, parseAgentEnv } from './config.js';

// `skiff-agent`: configuration from the environment (--help lists every variable), graceful
// stop on SIGTERM/SIGINT (active jobs finish; replicas keep running for the next agent).
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(agentHelp());
  process.exit(0);
}
let env;
try {
  env = parseAgentEnv(process.env);
} catch (error) {
  if (!(error instanceof AgentConfigError)) throw error;
  process.stderr.write(
    `skiff-agent: ${error.message}\n(skiff-agent --help lists every variable)\n`,
  );
  process.exit(2);
}
const log = pino({ level: env.SKIFF_LOG_LEVEL, base: { app: 'agent', node: env.SKIFF_NODE_NAME } });

/** The scoring server's bin beside the agent's (apps/scoring-server in a checkout or image). */
function scoringServerBin(): string {
  // Not an import: replicas run it as processes of their own.
  return fileURLToPath(
    new URL('../../scoring-server/bin/skiff-scoring-server.js', import.meta.url),
  );
}

// SKIFF_PYTHON reaches replicas through the driver's base environment (taken from ours).
if (env.SKIFF_PYTHON) process.env['SKIFF_PYTHON'] = env.SKIFF_PYTHON;
const driver = await LocalProcessDriver.open({
  stateDir: join(env.SKIFF_STATE_DIR, 'replicas'),
  command: process.execPath,
  args: [env.SKIFF_SCORING_SERVER ?? scoringServerBin()],
  nodeName: env.SKIFF_NODE_NAME,
  logger: log.child({ component: 'driver' }),
});
let agent;
try {
  agent = await startAgent(env, driver, log);
} catch (error) {
  log.fatal({ err: error }, 'could not start the agent');
  await driver.close();
  process.exit(1);
}
log.info({ http: agent.httpAddress }, 'agent running');
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  });
}
