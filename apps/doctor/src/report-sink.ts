import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { DoctorReport } from '@skiff/doctor';
import { AgentServiceClient } from '@skiff/proto';

/** Where continuous mode sends each report besides /metrics. */
export interface DoctorReportSink {
  publish(report: DoctorReport, node: string): Promise<void>;
  close?(): void;
}

/** Options of {@link ControlPlaneReportSink}. */
export interface ControlPlaneSinkOptions {
  /** The control plane's gRPC address, host:port. */
  readonly endpoint: string;
  /** An agent credential (role agent) bound to `compute`. */
  readonly token: string;
  /** The compute target this node belongs to. */
  readonly compute: string;
  /** Use TLS (default false: plain gRPC, for loopback and in-cluster service meshes). */
  readonly tls?: boolean;
  /** Per-call deadline in ms (default 10000). */
  readonly timeoutMs?: number;
}

/**
 * Sends each report to the control plane (AgentService.ReportConnectivity), so that
 * `skiff doctor --cluster COMPUTE` shows the latest run of every node.
 */
export class ControlPlaneReportSink implements DoctorReportSink {
  private readonly client: AgentServiceClient;
  private readonly metadata = new Metadata();

  constructor(private readonly options: ControlPlaneSinkOptions) {
    const channel: ChannelCredentials = options.tls
      ? credentials.createSsl()
      : credentials.createInsecure();
    this.client = new AgentServiceClient(options.endpoint, channel);
    this.metadata.set('authorization', `Bearer ${options.token}`);
  }

  publish(report: DoctorReport, node: string): Promise<void> {
    const request = {
      report: {
        compute: this.options.compute,
        nodeName: node,
        time: new Date(report.startedAt),
        healthy: report.summary.exitCode === 0,
        failedChecks: report.summary.fail,
        warnings: report.summary.warn,
        reportJson: JSON.stringify(report),
      },
    };
    const deadline = new Date(Date.now() + (this.options.timeoutMs ?? 10_000));
    return new Promise((resolve, reject) =>
      this.client.reportConnectivity(request, this.metadata, { deadline }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
