// A stand-in for the in-cluster image builder (the BuildKit Job comes with the Kubernetes
// driver): it records each request and, like BuildKit with push=true, pushes an image to the
// requested workspace tag — a small test image, not one built from the Dockerfile.
import type { ImageBuilder, ImageBuildRequest, ImageBuildResult } from '../builder.js';
import { ImageBuildError } from '../errors.js';
import type { RegistryClient } from '../registry-client.js';
import { createTestImage, pushTestImage } from './test-image.js';

/** What the stand-in does when asked to build. */
export type StandInBuildBehaviour =
  /** Push a test image to the destination tag and succeed. */
  | 'push'
  /** Fail as a build whose RUN step failed, with a log. */
  | 'fail'
  /** Succeed without pushing anything (a broken builder). */
  | 'forget-to-push';

/** The stand-in builder and what it was asked. */
export interface StandInImageBuilder extends ImageBuilder {
  readonly requests: ImageBuildRequest[];
  behaviour: StandInBuildBehaviour;
  /** Resolves the build only when this promise does (to hold builds open in a test). */
  gate: Promise<void>;
}

/** A stand-in builder that pushes through `workspace` (a client of the workspace registry). */
export function standInImageBuilder(workspace: RegistryClient): StandInImageBuilder {
  const builder: StandInImageBuilder = {
    requests: [],
    behaviour: 'push',
    gate: Promise.resolve(),
    async build(request: ImageBuildRequest): Promise<ImageBuildResult> {
      builder.requests.push(request);
      await builder.gate;
      const logs = [
        '#1 [internal] load build definition from Dockerfile',
        '#5 [2/4] RUN conda env create ...',
      ];
      if (builder.behaviour === 'fail') {
        throw new ImageBuildError('the build job failed', {
          image: request.image,
          logs: [
            ...logs,
            'ResolvePackageNotFound: numpy=0.0.0',
            'ERROR: process "/bin/sh -c conda env create" did not complete successfully: exit code: 1',
          ],
        });
      }
      if (builder.behaviour === 'push') {
        const { repository, tag } = request.destination;
        await pushTestImage(workspace, repository, tag, createTestImage());
      }
      return { image: request.image, logs: [...logs, '#9 pushing layers done'] };
    },
  };
  return builder;
}
