import { z } from 'zod';

/** The plan format this version of the doctor reads. */
export const PLAN_SCHEMA_VERSION = 1;

/** Conditions a plan entry can depend on (`when:`); see {@link PlanConditions}. */
export const planConditionNames = [
  'tokenAuth',
  'generatedEndpoint',
  'acrDataEndpoint',
  'inCluster',
] as const;

const id = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]*$/,
    'ids are lowercase letters, digits and dashes, starting with a letter',
  );
const phase = z.number().int().min(1).max(5);
const port = z.union([z.number().int().min(1).max(65535), z.string().regex(/^\{[A-Za-z]+\}$/)]);

/** One host the cluster must resolve (and, by protocol, reach). */
export const PlanHostSchema = z
  .object({
    id,
    phase,
    host: z.string().min(1),
    port: port.default(443),
    /** How far the doctor goes: dns only, + tcp connect, + TLS handshake, + an HTTP probe. */
    protocol: z.enum(['dns', 'tcp', 'tls', 'https']),
    /** Public CAs (system roots, expected issuers) or the cluster's own CA. */
    trust: z.enum(['public', 'cluster']).default('public'),
    http: z
      .object({
        path: z.string().startsWith('/'),
        /** Status codes that count as reachable; default: any status below 500. */
        expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
      })
      .strict()
      .optional(),
    required: z.boolean().default(true),
    when: z.enum(planConditionNames).optional(),
    /** The id of the host whose content this one serves (registry data endpoints). */
    dataEndpointOf: id.optional(),
    why: z.string().min(1),
  })
  .strict();

/** Pods found through the Kubernetes API that must accept connections. */
export const PlanPodsSchema = z
  .object({
    id,
    phase,
    namespace: z.string().min(1),
    labelSelector: z.string().min(1),
    /** Port to connect to when the pod spec declares none. */
    port: z.number().int().min(1).max(65535),
    required: z.boolean().default(true),
    why: z.string().min(1),
  })
  .strict();

/** A complete plan (the default one, or a user's that replaces it). */
export const PlanSchema = z
  .object({
    schemaVersion: z.literal(PLAN_SCHEMA_VERSION),
    name: z.string().min(1),
    description: z.string().optional(),
    hosts: z.array(PlanHostSchema).default([]),
    pods: z.array(PlanPodsSchema).default([]),
  })
  .strict();

/** A user's plan file: a full plan, or additions and overrides on top of the default. */
export const UserPlanSchema = z
  .object({
    schemaVersion: z.literal(PLAN_SCHEMA_VERSION),
    /** `default`: start from the default plan; absent: this file is the whole plan. */
    extends: z.literal('default').optional(),
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    hosts: z.array(PlanHostSchema).default([]),
    pods: z.array(PlanPodsSchema).default([]),
    /** Per entry id: replace its host template and/or port. */
    overrides: z
      .record(id, z.object({ host: z.string().min(1).optional(), port: port.optional() }).strict())
      .default({}),
  })
  .strict();

/** One host entry of a validated plan. */
export type PlanHost = z.infer<typeof PlanHostSchema>;
/** One pods entry of a validated plan. */
export type PlanPods = z.infer<typeof PlanPodsSchema>;
/** A validated plan. */
export type Plan = z.infer<typeof PlanSchema>;
/** A validated user plan file. */
export type UserPlan = z.infer<typeof UserPlanSchema>;
/** A name from {@link planConditionNames}. */
export type PlanConditionName = (typeof planConditionNames)[number];
/** Which conditional entries apply. */
export type PlanConditions = Readonly<Record<PlanConditionName, boolean>>;
