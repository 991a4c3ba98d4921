import { Counter, Histogram, type Registry } from 'prom-client';

/** Per-method RPC metrics, in the names grpc-ecosystem servers use. */
export class RpcMetrics {
  private readonly handled: Counter<'grpc_method' | 'grpc_code'>;
  private readonly duration: Histogram<'grpc_method'>;

  constructor(registry: Registry) {
    this.handled = new Counter({
      name: 'grpc_server_handled_total',
      help: 'RPCs completed on the server, by method and status code.',
      labelNames: ['grpc_method', 'grpc_code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'grpc_server_handling_seconds',
      help: 'Time to complete an RPC (streams: until the stream ends).',
      labelNames: ['grpc_method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  observe(method: string, code: string, seconds: number): void {
    this.handled.inc({ grpc_method: method, grpc_code: code });
    this.duration.observe({ grpc_method: method }, seconds);
  }
}
