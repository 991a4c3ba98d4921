import {
  ComputeState,
  DeploymentStep,
  deploymentStepToJSON,
  type DeploymentEvent,
} from '@skiff/proto';
import type { Session } from '../connection/session.js';
import { ExitCode } from '../io.js';
import { enumLabel } from '../output.js';
import { interruptOnSigint } from './interrupt.js';

/** Exit code after Ctrl-C stopped the waiting (128 + SIGINT, the shell's convention). */
export const INTERRUPTED = 130;

/** One progress line, as `wait_for_deployment(show_output=True)` printed them. */
export function progressLine(event: DeploymentEvent): string {
  const time = event.time ? event.time.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
  const step = enumLabel(deploymentStepToJSON(event.step), 'DEPLOYMENT_STEP_');
  return `${time} ${step.padEnd(18)} ${event.message}`.trim();
}

/** How long a deployment sits in Queued before the CLI looks for the compute's agents. */
export const AGENT_HINT_AFTER_MS = 5_000;

/**
 * `SKIFF_AGENT_HINT_AFTER_MS`, else {@link AGENT_HINT_AFTER_MS}: tests shorten the wait, a
 * user who finds the hint early can lengthen it.
 */
function agentHintAfterMs(env: NodeJS.ProcessEnv): number {
  const value = Number(env['SKIFF_AGENT_HINT_AFTER_MS']);
  return Number.isFinite(value) && value >= 0 && env['SKIFF_AGENT_HINT_AFTER_MS'] !== ''
    ? value
    : AGENT_HINT_AFTER_MS;
}

/**
 * What to tell a user whose deployment waits for a compute no agent serves, or undefined when
 * an agent is ready (then the queue is simply busy).
 */
async function noAgentHint(session: Session, name: string): Promise<string | undefined> {
  const { client, workspace } = session;
  const { webservice } = await client.webservices.get({ workspace, name });
  const compute = webservice?.spec?.compute;
  if (!compute) return undefined;
  const { compute: target } = await client.computes.get({ workspace, name: compute });
  if (!target || target.readyAgents > 0) return undefined;
  const why =
    target.state === ComputeState.COMPUTE_STATE_UNREACHABLE
      ? 'its agents stopped reporting'
      : 'no agent of it has reported yet';
  return (
    `skiff: still Queued: compute target '${compute}' has no ready agent (${why}), so nothing ` +
    `takes the deployment. Start one: 'skiff up' on this machine, or skiff-agent with ` +
    `SKIFF_ENDPOINT, SKIFF_TOKEN (an agent credential of '${compute}'), SKIFF_WORKSPACE=${workspace} ` +
    `and SKIFF_COMPUTE=${compute} (docs/agent.md). Still waiting.\n`
  );
}

/**
 * Follows a generation's deployment, printing one line per step, until its terminal event.
 * Exit 0 when Healthy (then prints the scoring URI), 1 when it failed (the reason and the
 * replica logs on stderr), was superseded or deleted. Ctrl-C stops waiting, not the
 * deployment, and prints how to resume.
 */
export async function waitForDeployment(
  session: Session,
  name: string,
  generation: number,
): Promise<number> {
  const { client, io, workspace } = session;
  const resume = `skiff service wait -n ${name}${session.resumeFlags ? ` ${session.resumeFlags}` : ''} --generation ${generation}`;
  const interrupt = interruptOnSigint();
  let last: DeploymentEvent | undefined;
  // Said once: after a while in Queued, whether any agent serves the compute at all.
  let hintTimer: NodeJS.Timeout | undefined;
  let hinted = false;
  let finished = false;
  const scheduleHint = () => {
    if (hinted) return;
    hinted = true;
    hintTimer = setTimeout(() => {
      noAgentHint(session, name).then(
        (hint) => {
          if (hint && !finished) io.err(hint);
        },
        // A hint that cannot be computed is no reason to stop waiting.
        () => undefined,
      );
    }, agentHintAfterMs(io.env));
  };
  try {
    for await (const { event } of client.webservices.watchDeployment(
      { workspace, name, generation },
      { signal: interrupt.signal },
    )) {
      if (!event) continue;
      io.out(`${progressLine(event)}\n`);
      last = event;
      if (event.step === DeploymentStep.DEPLOYMENT_STEP_QUEUED) scheduleHint();
      else clearTimeout(hintTimer);
      if (event.terminal) break;
    }
  } finally {
    finished = true;
    clearTimeout(hintTimer);
    interrupt.dispose();
  }
  if (interrupt.signal.aborted) {
    io.err(`\nStopped waiting; the deployment goes on.\nResume watching with: ${resume}\n`);
    return INTERRUPTED;
  }
  if (!last?.terminal) {
    io.err(
      `skiff: the progress stream ended before the deployment finished; resume with: ${resume}\n`,
    );
    return ExitCode.failed;
  }
  switch (last.step) {
    case DeploymentStep.DEPLOYMENT_STEP_HEALTHY: {
      const { webservice } = await client.webservices.get({ workspace, name });
      io.out(`Service ${name} is Healthy.\n`);
      if (webservice?.scoringUri) io.out(`Scoring URI: ${webservice.scoringUri}\n`);
      if (webservice?.swaggerUri) io.out(`Swagger URI: ${webservice.swaggerUri}\n`);
      return ExitCode.ok;
    }
    case DeploymentStep.DEPLOYMENT_STEP_FAILED: {
      const failure = last.detail?.$case === 'failure' ? last.detail.failure : undefined;
      const reason = failure ? `${failure.code}: ${failure.message}` : last.message;
      io.err(`Deployment of ${name} (generation ${generation}) failed: ${reason}\n`);
      if (failure && failure.replicaLogs.length > 0) {
        io.err('Replica logs:\n');
        for (const line of failure.replicaLogs) io.err(`  [${line.replica}] ${line.text}\n`);
      }
      return ExitCode.failed;
    }
    case DeploymentStep.DEPLOYMENT_STEP_SUPERSEDED:
      io.err(
        `Generation ${generation} of ${name} was replaced by a newer one before it finished; watch that with: skiff service wait -n ${name}\n`,
      );
      return ExitCode.failed;
    default:
      io.err(`Service ${name} was deleted before its deployment finished.\n`);
      return ExitCode.failed;
  }
}
