import { describe, expect, it } from 'vitest';
import { findDockerRegistry } from './registry.js';

describe('findDockerRegistry', () => {
  it('fails with installation instructions when docker-registry is not on PATH', () => {
    expect(() => findDockerRegistry({ PATH: '/nonexistent/skiff' })).toThrow(
      /docker-registry \(distribution 2\.8\) was not found on PATH\. Install it with `sudo apt-get install docker-registry`/,
    );
  });

  it('names SKIFF_DOCKER_REGISTRY when it points nowhere', () => {
    expect(() => findDockerRegistry({ SKIFF_DOCKER_REGISTRY: '/nonexistent/registry' })).toThrow(
      /not found at SKIFF_DOCKER_REGISTRY=\/nonexistent\/registry/,
    );
  });

  it('finds the installed one', () => {
    expect(findDockerRegistry()).toMatch(/docker-registry$/);
  });
});
