import type { AppendOptions, Store } from '@skiff/store';

/** The API's DeploymentEvent without generation and sequence (the store assigns those). */
export interface EventBody {
  /** DeploymentStep name without its prefix, e.g. 'QUEUED', 'HEALTHY'. */
  step: string;
  message: string;
  terminal?: boolean;
  /** The oneof detail in the API's JSON mapping, e.g. { replicas: { ready: 1, desired: 2 } }. */
  detail?: Record<string, unknown>;
}

/** Topic of a service's change feed (events and state). */
export const serviceTopic = (workspace: string, service: string) => `svc:${workspace}/${service}`;
/** Topic of a compute target's routing table (replica reports, service changes). */
export const routingTopic = (workspace: string, compute: string) =>
  `routes:${workspace}/${compute}`;
/**
 * Topic of every service of a workspace: published on each deployment event and key change,
 * so routing tables (which list services of a compute target) are rebuilt at once.
 */
export const servicesTopic = (workspace: string) => `services:${workspace}`;
/** Topic of a service's logs. */
export const logTopic = (workspace: string, service: string) => `logs:${workspace}/${service}`;

/**
 * Appends a deployment event and tells watchers. Nothing is appended for a service that is
 * gone, nor twice for one `onceId` (see {@link AppendOptions}).
 */
export async function recordEvent(
  store: Store,
  workspace: string,
  service: string,
  generation: number,
  body: EventBody,
  options: AppendOptions = {},
): Promise<void> {
  // Stored in the API's JSON mapping of DeploymentEvent: the oneof detail sits at the top.
  const { detail, ...rest } = body;
  const sequence = await store.events.append(
    workspace,
    service,
    generation,
    { ...rest, ...detail, time: new Date().toISOString() },
    options,
  );
  if (sequence > 0) {
    await store.feed.publish(serviceTopic(workspace, service));
    await store.feed.publish(servicesTopic(workspace));
  }
}
