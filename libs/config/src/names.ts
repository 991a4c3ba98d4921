/** A Kubernetes DNS label (RFC 1123): a-z, 0-9 and '-', no '-' at either end. */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** Longest Kubernetes namespace name (a DNS label). */
export const MAX_NAMESPACE_LENGTH = 63;
/** Shortest service name Azure ML v1 accepted; skiff keeps the limit. */
export const MIN_SERVICE_NAME_LENGTH = 3;
/** Longest service name Azure ML v1 accepted; skiff keeps the limit. */
export const MAX_SERVICE_NAME_LENGTH = 32;

/** Whether `name` is a DNS label usable as a Kubernetes namespace (<= 63 chars). */
export function isNamespaceName(name: string): boolean {
  return name.length <= MAX_NAMESPACE_LENGTH && DNS_LABEL.test(name);
}

/**
 * Why `name` is not a valid service name, or `undefined` when it is. A service name is a
 * DNS-1123 label of 3 to 32 characters that starts with a letter (Azure ML v1's rule: the name
 * becomes part of URLs and Kubernetes object names).
 */
export function serviceNameProblem(name: string): string | undefined {
  const got = `got ${JSON.stringify(name)}`;
  if (name.length < MIN_SERVICE_NAME_LENGTH || name.length > MAX_SERVICE_NAME_LENGTH) {
    return `expected ${MIN_SERVICE_NAME_LENGTH} to ${MAX_SERVICE_NAME_LENGTH} characters, ${got} (${name.length})`;
  }
  if (!DNS_LABEL.test(name) || !/^[a-z]/.test(name)) {
    return `expected lower-case letters, digits and '-', starting with a letter and not ending with '-', ${got}`;
  }
  return undefined;
}

/** Whether `name` is a valid service name (see {@link serviceNameProblem}). */
export function isServiceName(name: string): boolean {
  return serviceNameProblem(name) === undefined;
}
