/**
 * @skiff/config: Azure ML v1 inferenceconfig / deploymentconfig (JSON or YAML) reading, parsing,
 * defaults, validation.
 */
export { ConfigError, formatConfigIssue, type ConfigIssue } from './issues.js';
export {
  configFormatOfName,
  parseConfigDocument,
  parseConfigJson,
  type ConfigFormat,
  type ParseConfigDocumentOptions,
} from './document.js';
export {
  DEFAULT_CPU_BASE_IMAGE,
  DEFAULT_GPU_BASE_IMAGE,
  DEPLOYMENT_DEFAULTS,
  defaultBaseImage,
} from './defaults.js';
export {
  MAX_NAMESPACE_LENGTH,
  MAX_SERVICE_NAME_LENGTH,
  MIN_SERVICE_NAME_LENGTH,
  isNamespaceName,
  isServiceName,
  serviceNameProblem,
} from './names.js';
export {
  checkDeploymentConfig,
  deploymentConfigSchema,
  parseDeploymentConfig,
  type AutoScalerConfig,
  type ComputeType,
  type ConfigResult,
  type ContainerResourceRequirements,
  type DeploymentConfig,
  type DeploymentConfigOptions,
  type LivenessProbeRequirements,
  type ServiceKeysConfig,
} from './deployment-config.js';
export {
  checkInferenceConfig,
  environmentInferenceConfigSchema,
  flatInferenceConfigSchema,
  parseInferenceConfig,
  type CondaEnvironment,
  type DockerfileSource,
  type ImageRegistry,
  type InferenceConfig,
  type InferenceConfigOptions,
  type InferenceConfigShape,
  type InferenceEnvironment,
  type Runtime,
} from './inference-config.js';
export {
  inferenceConfigPaths,
  resolveAgainst,
  type InferenceConfigPaths,
  type PathBase,
  type ReferencedPath,
} from './paths.js';
export {
  resolveEnvironmentDefinition,
  type ConfigFileReader,
  type ResolveEnvironmentOptions,
} from './environment-definition.js';
export {
  checkDeploymentConfigFile,
  checkInferenceConfigFile,
  configFileAt,
  readConfigDocument,
  readDeploymentConfigFile,
  readInferenceConfigFile,
  type ConfigFileLocation,
  type InferenceConfigFile,
  type InferenceConfigFileOptions,
} from './config-files.js';
