/**
 * An environment definition that cannot be hashed, e.g. conda YAML that does not parse or is
 * not a mapping. The message names the field; `cause` carries the parser's error.
 */
export class EnvironmentDefinitionError extends Error {
  override readonly name = 'EnvironmentDefinitionError';
  /** The `EnvironmentDefinition` field at fault, e.g. `condaDependencies`. */
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/**
 * A file tree that cannot be snapshotted or digested, or a snapshot that must not be unpacked:
 * a symlink leaving the tree, a broken link, a link cycle, a file that changed while it was
 * read, a zip entry that would land outside the destination. `cause` carries the underlying
 * I/O error when there is one.
 */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}
