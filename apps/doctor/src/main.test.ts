import { request } from 'node:http';
import { startDoctorFixture, type DoctorFixture } from '@skiff/doctor/test-support';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { main, type DoctorAppIo } from './main.js';

let world: DoctorFixture | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function capture(extra: Partial<DoctorAppIo> = {}) {
  const output = { out: '', err: '' };
  const io: Partial<DoctorAppIo> = {
    out: (text) => void (output.out += text),
    err: (text) => void (output.err += text),
    cwd: process.cwd(),
    env: {},
    logger: pino({ level: 'silent' }),
    ...extra,
  };
  return { output, io };
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('skiff-doctor', () => {
  it('runs once and exits 0 on a healthy world', async () => {
    world = await startDoctorFixture();
    const { output, io } = capture();
    expect(await main(world.cliArgs(), io)).toBe(0);
    expect(output.out).toMatch(/✓ ok\s+mcr\s+http/);
    expect(output.out).toContain('— exit 0');
  });

  it('documents continuous mode in --help', async () => {
    const { output, io } = capture();
    expect(await main(['--help'], io)).toBe(0);
    for (const flag of [
      '--every',
      '--metrics-host',
      '--metrics-port',
      '--node',
      '--resolver',
      '--json',
      '--junit',
    ]) {
      expect(output.out).toContain(flag);
    }
  });

  it('--every: runs the plan, exports the results on /metrics, and stops on the signal', async () => {
    world = await startDoctorFixture({ zone: { 'skiffacr.azurecr.io': { rcode: 'NXDOMAIN' } } });
    const stop = new AbortController();
    let port = 0;
    const { io } = capture({
      signal: stop.signal,
      onListening: (address) => (port = address.port),
    });
    const exited = main([...world.cliArgs(), '--every', '1h', '--metrics-port', '0'], io);
    while (port === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // /healthz turns 200 once the first run has finished.
    while ((await get(port, '/healthz')).status !== 200)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const metrics = await get(port, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(
      'skiff_doctor_check_status{phase="1",subject="mcr",kind="http",host="mcr.microsoft.com",status="pass"} 1',
    );
    expect(metrics.body).toContain(
      'skiff_doctor_check_status{phase="4",subject="acr",kind="dns",host="skiffacr.azurecr.io",status="fail"} 1',
    );
    expect(metrics.body).toMatch(
      /skiff_doctor_diagnosis\{id="dns.failed",check="acr.dns",severity="fail"\} 1/,
    );
    expect(metrics.body).toContain('skiff_doctor_failed_checks 1');
    expect(metrics.body).toContain('skiff_doctor_runs_total{result="failed"} 1');
    expect(metrics.body).toMatch(
      /skiff_doctor_dns_latency_seconds\{host="mcr.microsoft.com",resolver="127.0.0.2:\d+",type="A",rcode="NOERROR"\}/,
    );
    stop.abort();
    expect(await exited).toBe(0);
  });

  it('--every with a broken plan exits 2 before serving anything', async () => {
    let listened = false;
    const { output, io } = capture({ onListening: () => (listened = true) });
    const code = await main(
      [
        '--resolver',
        '127.0.0.2',
        '--plan',
        'no-such-plan.yaml',
        '--every',
        '5m',
        '--metrics-port',
        '0',
      ],
      io,
    );
    expect(code).toBe(2);
    expect(listened).toBe(false);
    expect(output.err).toMatch(/cannot read plan file/);
  });

  it('rejects a malformed --every', async () => {
    const { output, io } = capture();
    expect(await main(['--resolver', '127.0.0.2', '--every', 'often'], io)).toBe(2);
    expect(output.err).toMatch(/--every often/);
  });
  it.each([
    [['--report-to', 'cp.example.test:50051'], {}, /--report-compute/],
    [['--report-to', 'cp.example.test:50051', '--report-compute', 'aks'], {}, /SKIFF_TOKEN/],
    [['--report-to', 'no-port', '--report-compute', 'aks'], { SKIFF_TOKEN: 't' }, /host:port/],
  ])(
    'rejects --report-to %j without what it needs (exit 2, nothing sent)',
    async (flags, env, message) => {
      const { output, io } = capture();
      const code = await main(['--resolver', '127.0.0.2', '--every', '1h', ...flags], {
        ...io,
        env,
      });
      expect(code).toBe(2);
      expect(output.err).toMatch(message);
    },
  );
});
