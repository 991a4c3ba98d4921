import type { DoctorReport } from '@skiff/doctor';

/**
 * Where continuous mode sends each report besides /metrics. The control-plane sink (so that
 * `skiff doctor --cluster COMPUTE` shows the latest per-node picture) needs the doctor RPC of
 * the public API, which is still being written.
 * TODO(api): implement a gRPC sink once proto/skiff/v1 has the doctor report message.
 */
export interface DoctorReportSink {
  publish(report: DoctorReport, node: string): Promise<void>;
}
