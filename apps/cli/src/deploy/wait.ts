import { DeploymentStep, deploymentStepToJSON, type DeploymentEvent } from '@skiff/proto';
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
  try {
    for await (const { event } of client.webservices.watchDeployment(
      { workspace, name, generation },
      { signal: interrupt.signal },
    )) {
      if (!event) continue;
      io.out(`${progressLine(event)}\n`);
      last = event;
      if (event.terminal) break;
    }
  } finally {
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
