import { type UserWorkspaceConfig } from 'vitest/config';
/** Options for one project's tests. */
export interface SkiffProjectOptions {
    /** Start (or reuse) a real Redis before the tests; default false. */
    redis?: boolean;
    /** Per-test timeout in ms; default 15000 (real processes and servers take time to start). */
    testTimeout?: number;
}
/** Vitest project settings shared by every app and lib. */
export declare function skiffProject(name: string, options?: SkiffProjectOptions): UserWorkspaceConfig;
//# sourceMappingURL=vitest.shared.d.ts.map