export {
  requiredReplicas,
  utilization,
  type ReplicaSizing,
  type UtilizationInput,
} from './sizing.js';
export { type AutoscalePolicy, type ResolvedAutoscalePolicy } from './policy.js';
export { type DemandSample } from './demand-history.js';
export { Autoscaler, type ScaleDecision, type ScaleDecisionKind } from './autoscaler.js';
