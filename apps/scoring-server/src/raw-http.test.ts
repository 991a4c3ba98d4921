// @rawhttp scripts and their Flask-like AMLRequest on the real server: multipart uploads
// (parsed by busboy in the server, bytes handed to the Python runner), forms, JSON, query args.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, startReplica, type ReplicaProcess } from './test-support/replica-process.js';

type Body = NonNullable<NonNullable<Parameters<typeof fetch>[1]>['body']>;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Summary {
  method: string;
  path: string;
  mimetype: string;
  args: Record<string, string[]>;
  firstArg: string | null;
  form: Record<string, string[]>;
  files: { field: string; filename: string; contentType: string; bytes: number; sha256: string }[];
  json: unknown;
  dataBytes: number;
  streamBytes: number;
  headerTag: string | null;
}

/** An "image" with bytes a naive parser trips on: CRLFs, dashes, NULs, a fake boundary. */
function awkwardImage(): Buffer {
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    randomBytes(200_000),
    Buffer.from('\r\n--not-the-boundary\r\n\r\n\0\0--\r\n'),
    randomBytes(100_000),
  ]);
}

describe('@rawhttp run() with AMLRequest', () => {
  let replica: ReplicaProcess;
  beforeAll(async () => {
    replica = await startReplica(
      { SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/upload.py` },
      { until: 'ready' },
    );
  });
  afterAll(() => replica.stop());

  const post = (path: string, body: Body, headers: Record<string, string> = {}) =>
    fetch(`${replica.url}${path}`, { method: 'POST', body, headers });

  it('gives a multipart upload as request.files and request.form', async () => {
    const image = awkwardImage();
    const note = Buffer.from('a second, small file\n');
    const form = new FormData();
    form.append('label', 'cat');
    // Over busboy's default field limit (1 MiB), which would silently truncate it.
    form.append('caption', 'x'.repeat(1_200_000));
    form.append('tag', 'one');
    form.append('tag', 'zwei – ü');
    form.append('image', new Blob([image], { type: 'image/png' }), 'kätzchen.png');
    form.append('note', new Blob([note], { type: 'text/plain' }), 'note.txt');
    const response = await post('/score?a=1', form, { 'X-Test-Tag': 'upload' });
    expect(response.status).toBe(200);
    const summary = (await response.json()) as Summary;
    expect(summary.mimetype).toBe('multipart/form-data');
    expect(summary.form['caption']?.[0]?.length).toBe(1_200_000);
    expect({ ...summary.form, caption: undefined }).toEqual({
      label: ['cat'],
      tag: ['one', 'zwei – ü'],
      caption: undefined,
    });
    expect(summary.files).toEqual([
      {
        field: 'image',
        filename: 'kätzchen.png',
        contentType: 'image/png',
        bytes: image.length,
        sha256: sha256(image),
      },
      {
        field: 'note',
        filename: 'note.txt',
        contentType: 'text/plain',
        bytes: note.length,
        sha256: sha256(note),
      },
    ]);
    // get_data() and stream still hold the raw multipart body.
    expect(summary.dataBytes).toBeGreaterThan(image.length + note.length);
    expect(summary.streamBytes).toBe(summary.dataBytes);
    expect(summary.args).toEqual({ a: ['1'] });
    expect(summary.headerTag).toBe('upload');
    expect(summary.json).toBeNull();
  });

  it("sends an uploaded file's bytes back unchanged", async () => {
    const image = awkwardImage();
    const form = new FormData();
    form.append('image', new Blob([image], { type: 'image/png' }), 'in.png');
    const response = await post('/score?echo=image', form);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    const echoed = Buffer.from(await response.arrayBuffer());
    expect(echoed.length).toBe(image.length);
    expect(echoed.equals(image)).toBe(true);
  });

  it('parses a JSON body with get_json() and repeated query arguments into args', async () => {
    const response = await post('/score?a=1&a=2&b=&c=x%20y', JSON.stringify({ n: [1, 2] }), {
      'Content-Type': 'application/json',
    });
    const summary = (await response.json()) as Summary;
    expect(summary).toMatchObject({
      method: 'POST',
      path: '/score',
      mimetype: 'application/json',
      json: { n: [1, 2] },
      args: { a: ['1', '2'], b: [''], c: ['x y'] },
      firstArg: '1',
      form: {},
      files: [],
    });
  });

  it('parses an application/x-www-form-urlencoded body into request.form', async () => {
    const response = await post(
      '/score',
      new URLSearchParams([
        ['label', 'dog'],
        ['tag', 'a'],
        ['tag', 'b & c'],
      ]),
    );
    const summary = (await response.json()) as Summary;
    expect(summary.form).toEqual({ label: ['dog'], tag: ['a', 'b & c'] });
    expect(summary.files).toEqual([]);
  });

  it('leaves form and files empty, and the raw body intact, when a multipart body is malformed', async () => {
    const body = '--other\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--other--\r\n';
    const response = await post('/score', body, {
      'Content-Type': 'multipart/form-data', // no boundary
    });
    expect(response.status).toBe(200);
    const summary = (await response.json()) as Summary;
    expect(summary).toMatchObject({ form: {}, files: [], dataBytes: body.length });
    await replica.waitForLog((l) => String(l.msg).startsWith('the form body does not parse'));
  });
});
