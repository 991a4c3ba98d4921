import { isIP } from 'node:net';
import { PlanError } from '../errors.js';
import type { Plan, PlanConditionName, PlanConditions, PlanHost } from './schema.js';

/** Values for the plan's template variables; absent ones leave their entries skipped. */
export interface PlanVariables {
  readonly cluster?: string;
  readonly region?: string;
  readonly acr?: string;
  readonly account?: string;
  readonly label?: string;
  readonly namespace?: string;
  readonly kubernetesServiceHost?: string;
  readonly kubernetesServicePort?: string;
}

/** Where an operator supplies each variable (for "skipped: set --acr" messages). */
export const variableSources: Readonly<Record<keyof PlanVariables, string>> = {
  cluster: '--cluster',
  region: '--region',
  acr: '--acr',
  account: '--storage-account',
  label: '--endpoint-label',
  namespace: '--namespace',
  kubernetesServiceHost: 'KUBERNETES_SERVICE_HOST (in-cluster)',
  kubernetesServicePort: 'KUBERNETES_SERVICE_PORT (in-cluster)',
};

const conditionSources: Readonly<Record<PlanConditionName, string>> = {
  tokenAuth: 'only with token auth (--token-auth)',
  generatedEndpoint: 'only with a generated endpoint name (--endpoint-label)',
  acrDataEndpoint: 'only with registry data endpoints (--acr-data-endpoint)',
  inCluster: 'only in-cluster (KUBERNETES_SERVICE_HOST)',
};

/** A host entry with its templates filled in. */
export interface RenderedHost {
  readonly id: string;
  readonly phase: number;
  /** Lowercase DNS name or IP literal. */
  readonly host: string;
  readonly port: number;
  readonly protocol: PlanHost['protocol'];
  readonly trust: PlanHost['trust'];
  readonly http?: { readonly path: string; readonly expectStatus?: readonly number[] };
  readonly required: boolean;
  readonly dataEndpointOf?: string;
  readonly why: string;
}

/** A pods entry with its namespace filled in. */
export interface RenderedPods {
  readonly id: string;
  readonly phase: number;
  readonly namespace: string;
  readonly labelSelector: string;
  readonly port: number;
  readonly required: boolean;
  readonly why: string;
}

/** An entry that is not checked, and why (reported so nothing disappears silently). */
export interface UncheckedEntry {
  readonly id: string;
  readonly phase: number;
  /** `skipped`: variables missing (an operator can fix that); `not-applicable`: condition off. */
  readonly kind: 'skipped' | 'not-applicable';
  readonly reason: string;
}

/** The plan for one run: concrete hosts and pods, plus what is left out. */
export interface RenderedPlan {
  readonly name: string;
  readonly schemaVersion: number;
  readonly hosts: readonly RenderedHost[];
  readonly pods: readonly RenderedPods[];
  readonly unchecked: readonly UncheckedEntry[];
}

/** What {@link renderPlan} needs besides the plan. */
export interface RenderInput {
  readonly variables: PlanVariables;
  readonly conditions: PlanConditions;
  /** Whether the Kubernetes API can be asked (kubeconfig given, or in-cluster). */
  readonly kubernetesAccess: boolean;
}

const placeholder = /\{([A-Za-z]+)\}/g;
const dnsName =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/;

function isVariable(name: string): name is keyof PlanVariables {
  return Object.hasOwn(variableSources, name);
}

type Filled = { ok: true; value: string } | { ok: false; missing: (keyof PlanVariables)[] };

function fill(template: string, variables: PlanVariables, entryId: string): Filled {
  const missing: (keyof PlanVariables)[] = [];
  const value = template.replace(placeholder, (_match, name: string) => {
    if (!isVariable(name)) {
      throw new PlanError(`entry "${entryId}": unknown template variable {${name}}`);
    }
    const given = variables[name];
    if (given === undefined || given === '') {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    return given;
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value };
}

function missingReason(missing: readonly (keyof PlanVariables)[]): string {
  return `needs ${missing.map((name) => `{${name}} (${variableSources[name]})`).join(', ')}`;
}

/**
 * Fills the plan's templates. Entries whose condition is off are `not-applicable`; entries
 * whose variables are missing are `skipped` with the flag that supplies them.
 * @throws PlanError when a template names an unknown variable or renders to an invalid name.
 */
export function renderPlan(plan: Plan, input: RenderInput): RenderedPlan {
  const hosts: RenderedHost[] = [];
  const pods: RenderedPods[] = [];
  const unchecked: UncheckedEntry[] = [];
  for (const entry of plan.hosts) {
    if (entry.when !== undefined && !input.conditions[entry.when]) {
      unchecked.push({
        id: entry.id,
        phase: entry.phase,
        kind: 'not-applicable',
        reason: conditionSources[entry.when],
      });
      continue;
    }
    const host = fill(entry.host, input.variables, entry.id);
    const port = fill(String(entry.port), input.variables, entry.id);
    if (!host.ok || !port.ok) {
      const missing = [...(host.ok ? [] : host.missing), ...(port.ok ? [] : port.missing)];
      unchecked.push({
        id: entry.id,
        phase: entry.phase,
        kind: 'skipped',
        reason: missingReason(missing),
      });
      continue;
    }
    const name = host.value.toLowerCase().replace(/\.$/, '');
    if (isIP(name) === 0 && !dnsName.test(name)) {
      throw new PlanError(`entry "${entry.id}": "${host.value}" is not a valid host name`);
    }
    const portNumber = Number(port.value);
    if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65_535) {
      throw new PlanError(`entry "${entry.id}": port "${port.value}" is not a port number`);
    }
    hosts.push({
      id: entry.id,
      phase: entry.phase,
      host: name,
      port: portNumber,
      protocol: entry.protocol,
      trust: entry.trust,
      required: entry.required,
      why: entry.why,
      ...(entry.http !== undefined
        ? {
            http: {
              path: entry.http.path,
              ...(entry.http.expectStatus !== undefined
                ? { expectStatus: entry.http.expectStatus }
                : {}),
            },
          }
        : {}),
      ...(entry.dataEndpointOf !== undefined ? { dataEndpointOf: entry.dataEndpointOf } : {}),
    });
  }
  for (const entry of plan.pods) {
    if (!input.kubernetesAccess) {
      unchecked.push({
        id: entry.id,
        phase: entry.phase,
        kind: 'not-applicable',
        reason: 'needs Kubernetes API access (--kubeconfig, or run in-cluster)',
      });
      continue;
    }
    const namespace = fill(entry.namespace, input.variables, entry.id);
    if (!namespace.ok) {
      unchecked.push({
        id: entry.id,
        phase: entry.phase,
        kind: 'skipped',
        reason: missingReason(namespace.missing),
      });
      continue;
    }
    pods.push({
      id: entry.id,
      phase: entry.phase,
      namespace: namespace.value,
      labelSelector: entry.labelSelector,
      port: entry.port,
      required: entry.required,
      why: entry.why,
    });
  }
  return { name: plan.name, schemaVersion: plan.schemaVersion, hosts, pods, unchecked };
}
