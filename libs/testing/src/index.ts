/**
 * Test-only helpers: a real Redis per run with per-test isolation, a grpc-js server on port 0,
 * free loopback ports. Never imported by production code.
 */
export { freePort } from './ports.js';
export {
  provideTestRedis,
  startRedisServer,
  type RedisServerOptions,
  type RedisServer,
  redisAnswers,
  assertLoopbackRedisUrl,
  type TestRedis,
} from './redis-server.js';
export { testRedisUrl, uniqueTestName, isolatedRedis, type IsolatedRedis } from './redis.js';
export { startGrpcTestServer, type GrpcTestServer } from './grpc.js';
