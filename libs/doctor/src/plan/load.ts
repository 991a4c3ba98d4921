import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { type z } from 'zod';
import { PlanError } from '../errors.js';
import { PlanSchema, UserPlanSchema, type Plan, type PlanHost, type PlanPods } from './schema.js';

// plans/ sits beside src/ and dist/, so the same relative URL works from sources and builds.
const defaultPlanUrl = new URL('../../plans/default.yaml', import.meta.url);

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map(
      (issue) =>
        `${issue.path.length > 0 ? issue.path.join('.') : '(top level)'}: ${issue.message}`,
    )
    .join('; ');
}

function parseDocument(text: string, source: string): unknown {
  try {
    // YAML is a superset of JSON, so one parser reads both plan formats.
    return parseYaml(text);
  } catch (error) {
    throw new PlanError(`${source}: not valid YAML or JSON`, { cause: error });
  }
}

function assertUniqueIds(plan: Plan, source: string): void {
  const seen = new Set<string>();
  for (const entry of [...plan.hosts, ...plan.pods]) {
    if (seen.has(entry.id)) throw new PlanError(`${source}: entry id "${entry.id}" appears twice`);
    seen.add(entry.id);
  }
  const hostIds = new Set(plan.hosts.map((host) => host.id));
  for (const host of plan.hosts) {
    if (host.dataEndpointOf !== undefined && !hostIds.has(host.dataEndpointOf)) {
      throw new PlanError(
        `${source}: "${host.id}".dataEndpointOf names "${host.dataEndpointOf}", which is not a host of the plan`,
      );
    }
    if (host.http !== undefined && host.protocol !== 'https') {
      throw new PlanError(
        `${source}: "${host.id}" has an http probe but protocol ${host.protocol}`,
      );
    }
  }
}

/** Validates a complete plan document (already parsed). */
export function validatePlan(document: unknown, source = 'plan'): Plan {
  const parsed = PlanSchema.safeParse(document);
  if (!parsed.success) throw new PlanError(`${source}: ${describeIssues(parsed.error)}`);
  assertUniqueIds(parsed.data, source);
  return parsed.data;
}

/** Reads the default plan shipped with the doctor (`plans/default.yaml`). */
export async function loadDefaultPlan(): Promise<Plan> {
  const text = await readFile(defaultPlanUrl, 'utf8');
  return validatePlan(parseDocument(text, 'default plan'), 'default plan');
}

/**
 * Builds the plan from a user's plan file text: either a whole plan, or (`extends: default`)
 * the default plan plus the file's hosts and pods (same id replaces) and per-id overrides.
 */
export function planFromUserText(text: string, source: string, defaultPlan: Plan): Plan {
  const parsed = UserPlanSchema.safeParse(parseDocument(text, source));
  if (!parsed.success) throw new PlanError(`${source}: ${describeIssues(parsed.error)}`);
  const user = parsed.data;
  const base: Plan =
    user.extends === 'default'
      ? defaultPlan
      : { schemaVersion: user.schemaVersion, name: user.name ?? source, hosts: [], pods: [] };
  const replace = <T extends { id: string }>(from: readonly T[], added: readonly T[]): T[] => {
    const addedIds = new Set(added.map((entry) => entry.id));
    return [...from.filter((entry) => !addedIds.has(entry.id)), ...added];
  };
  let hosts: PlanHost[] = replace(base.hosts, user.hosts);
  const pods: PlanPods[] = replace(base.pods, user.pods);
  for (const [id, override] of Object.entries(user.overrides)) {
    if (!hosts.some((host) => host.id === id)) {
      throw new PlanError(`${source}: overrides.${id} names no host of the plan`);
    }
    hosts = hosts.map((host) =>
      host.id === id
        ? {
            ...host,
            ...(override.host !== undefined ? { host: override.host } : {}),
            ...(override.port !== undefined ? { port: override.port } : {}),
          }
        : host,
    );
  }
  const plan: Plan = {
    schemaVersion: base.schemaVersion,
    name: user.name ?? (user.extends === 'default' ? `${defaultPlan.name}+${source}` : source),
    hosts,
    pods,
    ...(user.description !== undefined ? { description: user.description } : {}),
  };
  return validatePlan(plan, source);
}

/** Reads a user's plan file (YAML or JSON); see {@link planFromUserText}. */
export async function loadPlanFile(path: string, defaultPlan: Plan): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PlanError(`cannot read plan file ${path}`, { cause: error });
  }
  return planFromUserText(text, path, defaultPlan);
}
