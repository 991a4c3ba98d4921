// Node module-resolution hook: adds the `@skiff/source` export condition (see each
// workspace package's `exports`), exactly as `node --conditions=@skiff/source` would.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('@skiff/source')
    ? context.conditions
    : ['@skiff/source', ...context.conditions];
  return nextResolve(specifier, { ...context, conditions });
}
