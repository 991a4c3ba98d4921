// vitest globalSetup of the artifacts project: one in-memory Azurite on loopback for the run.
import type { TestProject } from 'vitest/node';
import { startAzurite } from './azurite-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return () => azurite.stop();
}
