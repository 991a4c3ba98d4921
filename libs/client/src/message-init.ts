/** Values ts-proto keeps whole rather than as partial objects. */
type Scalar = Date | Uint8Array | string | number | boolean | undefined;

/**
 * A request message with any field left out: left-out fields take their proto3 defaults
 * (empty string, 0, false, empty list), as `Message.fromPartial` fills them. A `oneof` keeps
 * its `$case`.
 */
export type MessageInit<T> = T extends Scalar
  ? T
  : T extends readonly (infer U)[]
    ? MessageInit<U>[]
    : T extends { $case: string }
      ? { [K in keyof Omit<T, '$case'>]?: MessageInit<T[K]> } & { $case: T['$case'] }
      : T extends object
        ? { [K in keyof T]?: MessageInit<T[K]> }
        : T;
