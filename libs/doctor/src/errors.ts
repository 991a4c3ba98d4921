/** The plan file is unreadable, invalid, or renders to something unusable (exit code 2). */
export class PlanError extends Error {
  override readonly name = 'PlanError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A doctor option is malformed (a resolver, an override, a duration): exit code 2. */
export class DoctorUsageError extends Error {
  override readonly name = 'DoctorUsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
