// runner.py on its own: the frames it reads from fd 3 and writes to fd 4, without the server.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from '../test-support/replica-process.js';
import { encodeFrame, FrameDecoder, type Frame } from './framing.js';
import { PYTHON_DIR } from './python-worker.js';

interface RunnerOutcome {
  readonly code: number | null;
  readonly frames: Frame[];
  readonly stderr: string;
}

/**
 * Starts the runner with the behaviours fixture, waits for its `ready` frame, sends `bytes` on
 * fd 3, closes fd 3 and collects what came back until the runner exited.
 */
function runWith(bytes: Buffer): Promise<RunnerOutcome> {
  const child = spawn(
    'python3',
    ['-u', `${PYTHON_DIR}runner.py`, `${FIXTURES}python/behaviours.py`],
    {
      env: { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    },
  );
  const requests = child.stdio[3] as Writable;
  const results = child.stdio[4] as Readable;
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  requests.on('error', () => undefined);
  let sent = false;
  results.on('data', (chunk: Buffer) => {
    frames.push(...decoder.push(chunk));
    if (!sent && frames.some((frame) => frame.header['type'] === 'ready')) {
      sent = true;
      requests.end(bytes);
    }
  });
  return new Promise((resolve) => {
    child.once('close', (code) => resolve({ code, frames, stderr }));
  });
}

const frame = (body: string) =>
  Buffer.concat(
    encodeFrame(
      { type: 'run', id: 1, method: 'POST', url: '/score', headers: {} },
      Buffer.from(body),
    ),
  );

describe('runner.py', () => {
  it('ends cleanly (exit 0, nothing sent) when fd 3 closes in the middle of a frame header', async () => {
    const whole = frame('{"action": "echo"}');
    const outcome = await runWith(whole.subarray(0, 8 + 5));
    expect(outcome.stderr).not.toContain('Traceback');
    expect(outcome.code).toBe(0);
    expect(outcome.frames.map((f) => f.header['type'])).toEqual(['ready']);
  });

  it('ends cleanly without calling run() when fd 3 closes in the middle of a body', async () => {
    const whole = frame('{"action": "echo"}');
    const outcome = await runWith(whole.subarray(0, whole.length - 3));
    expect(outcome.stderr).not.toContain('Traceback');
    expect(outcome.code).toBe(0);
    expect(outcome.frames.map((f) => f.header['type'])).toEqual(['ready']);
  });

  it('answers a whole frame, then exits 0 at the end of the stream', async () => {
    const outcome = await runWith(frame('{"action": "echo"}'));
    expect(outcome.code).toBe(0);
    expect(outcome.frames.map((f) => [f.header['type'], f.header['id']])).toEqual([
      ['ready', undefined],
      ['result', 1],
    ]);
  });
});
