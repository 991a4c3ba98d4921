import { status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { REPORT_SCHEMA, type DoctorReport } from '@skiff/doctor';
import {
  AgentServiceService,
  type ReportConnectivityRequest,
  type ReportConnectivityResponse,
} from '@skiff/proto';
import { startGrpcTestServer } from '@skiff/testing';
import { describe, expect, it } from 'vitest';
import { ControlPlaneReportSink } from './report-sink.js';

const report = {
  schema: REPORT_SCHEMA,
  startedAt: '2026-11-26T10:00:00.000Z',
  summary: { pass: 30, warn: 1, fail: 2, blocked: 3, skipped: 0, exitCode: 1 },
} as unknown as DoctorReport;

describe('ControlPlaneReportSink', () => {
  it('sends the report to AgentService.ReportConnectivity with the agent credential', async () => {
    const received: Array<{ request: ReportConnectivityRequest; authorization: unknown }> = [];
    const unimplemented = (_call: unknown, callback: sendUnaryData<never>) =>
      callback({ code: status.UNIMPLEMENTED, details: 'no' } as never, null);
    const server = await startGrpcTestServer((s) =>
      s.addService(AgentServiceService, {
        registerAgent: unimplemented,
        reportReplicas: unimplemented,
        appendLogs: unimplemented,
        downloadArtifact: (call: { end(): void }) => call.end(),
        reportConnectivity: (
          call: ServerUnaryCall<ReportConnectivityRequest, ReportConnectivityResponse>,
          callback: sendUnaryData<ReportConnectivityResponse>,
        ) => {
          received.push({
            request: call.request,
            authorization: call.metadata.get('authorization')[0],
          });
          callback(null, {});
        },
      }),
    );
    const sink = new ControlPlaneReportSink({
      endpoint: server.address,
      token: 'skf_token',
      compute: 'aks',
    });
    try {
      await sink.publish(report, 'node-7');
    } finally {
      sink.close();
      await server.close();
    }
    expect(received).toHaveLength(1);
    expect(received[0]?.authorization).toBe('Bearer skf_token');
    const sent = received[0]?.request.report;
    expect(sent).toMatchObject({
      compute: 'aks',
      nodeName: 'node-7',
      healthy: false,
      failedChecks: 2,
      warnings: 1,
    });
    expect(sent?.time).toEqual(new Date('2026-11-26T10:00:00.000Z'));
    expect(JSON.parse(sent?.reportJson ?? '{}')).toMatchObject({ schema: REPORT_SCHEMA });
  });

  it('rejects when the control plane refuses the report', async () => {
    const server = await startGrpcTestServer(() => undefined);
    const sink = new ControlPlaneReportSink({
      endpoint: server.address,
      token: 't',
      compute: 'aks',
    });
    try {
      await expect(sink.publish(report, 'n')).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
    } finally {
      sink.close();
      await server.close();
    }
  });
});
