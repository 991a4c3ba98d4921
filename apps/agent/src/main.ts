import { pino } from 'pino';
import { startAgent } from './agent.js';
import { AgentConfigError, agentHelp, parseAgentEnv } from './config.js';
import { openRuntime } from './runtime.js';

// `skiff-agent`: configuration from the environment (--help lists every variable), graceful
// stop on SIGTERM/SIGINT (active jobs finish; replicas keep running for the next agent).

// A reader that closes the pipe (`skiff-agent --help | head -1`) ends the output quietly with
// exit 0, not with an EPIPE stack trace; a closed stderr only loses diagnostics.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(agentHelp());
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(
    `skiff-agent: unknown argument '${args[0] ?? ''}': configuration comes from the environment (skiff-agent --help lists every variable)\n`,
  );
  process.exit(2);
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
const log = pino({
  level: env.SKIFF_LOG_LEVEL,
  base: { app: 'agent', node: env.SKIFF_NODE_NAME, runtime: env.SKIFF_RUNTIME },
});

let runtime;
try {
  // local: replicas as child processes here; kubernetes: Deployments through the API server
  // (a missing namespace or Role fails here) and environment images from the registries.
  runtime = await openRuntime(env, log);
} catch (error) {
  log.fatal({ err: error }, `could not open the ${env.SKIFF_RUNTIME} runtime`);
  process.exit(1);
}
let agent;
try {
  agent = await startAgent(env, runtime, log);
} catch (error) {
  log.fatal({ err: error }, 'could not start the agent');
  await runtime.driver.close();
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
