// GET /swagger.json: a Swagger 2.0 document (the version Azure ML v1 services published) for
// the replica's routes, with the entry script's declared schemas when it has any.
import type { EntryScriptInfo } from './runtime/types.js';

/** The document for service `serviceId`; schemas absent → a free-form JSON object. */
export function swaggerDocument(serviceId: string, info: EntryScriptInfo): object {
  const anyJson = { type: 'object', additionalProperties: true };
  return {
    swagger: '2.0',
    info: {
      title: serviceId,
      description: `Scoring API of the skiff service ${serviceId}`,
      version: '1.0',
    },
    schemes: ['http'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths: {
      '/': {
        get: {
          operationId: 'ServiceHealthCheck',
          description: 'Health check: 200 "Healthy" once init() has finished',
          responses: { '200': { description: 'Healthy', schema: { type: 'string' } } },
        },
      },
      '/score': {
        post: {
          operationId: 'RunMLService',
          description: 'Runs the entry script on the request body',
          parameters: [
            {
              name: 'serviceInputPayload',
              in: 'body',
              required: true,
              schema: { $ref: '#/definitions/ServiceInput' },
            },
          ],
          responses: {
            '200': { description: 'Success', schema: { $ref: '#/definitions/ServiceOutput' } },
            default: { description: 'Failure', schema: { $ref: '#/definitions/ErrorResponse' } },
          },
        },
      },
    },
    definitions: {
      ServiceInput: info.inputSchema ?? anyJson,
      ServiceOutput: info.outputSchema ?? anyJson,
      ErrorResponse: { type: 'object', properties: { error: { type: 'string' } } },
    },
  };
}
