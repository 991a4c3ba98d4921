// Form bodies (multipart/form-data, application/x-www-form-urlencoded) for @rawhttp scripts,
// whose AMLRequest offers Flask's `form` and `files`. Parsed here with busboy, a maintained
// streaming parser, rather than in the Python runner: the standard library's form parser
// (`cgi`) was deprecated in Python 3.11 and removed in 3.13, and `email` is a MIME parser that
// is not meant for HTTP form data. The parts then travel to the runner in the frame that
// carries the request (see python-worker.ts).
import busboy from 'busboy';
import type { IncomingHttpHeaders } from 'node:http';

/** One uploaded file of a multipart/form-data body. */
export interface FormFile {
  /** The form field's name. */
  readonly name: string;
  /** The file name the client sent, without any directory part (busboy's default). */
  readonly filename: string;
  readonly contentType: string;
  readonly data: Buffer;
}

/** A parsed form: fields and files, each in the order the client sent them. */
export interface ParsedForm {
  readonly fields: readonly (readonly [string, string])[];
  readonly files: readonly FormFile[];
}

const FORM_TYPE = /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)\s*(;|$)/i;

/** True when the Content-Type is one Flask would parse into `request.form`/`request.files`. */
export function isFormContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && FORM_TYPE.test(contentType);
}

/**
 * Parses a form body already read into memory (and so already within the body limit).
 * Rejects when the body is not a well-formed form of the type its headers declare.
 */
export function parseForm(headers: IncomingHttpHeaders, body: Buffer): Promise<ParsedForm> {
  return new Promise<ParsedForm>((resolve, reject) => {
    const fields: [string, string][] = [];
    const files: Promise<FormFile>[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers,
        // Browsers send file names as raw UTF-8 in the header parameter.
        defParamCharset: 'utf8',
        // The body limit already bounds the whole body; busboy's own defaults would silently
        // truncate a field over 1 MiB, or a field name over 100 bytes.
        limits: { fieldSize: body.length, fieldNameSize: body.length },
      });
    } catch (error) {
      reject(error as Error); // no boundary, or not a form type
      return;
    }
    parser.on('field', (name, value) => fields.push([name, value]));
    parser.on('file', (name, stream, info) => {
      files.push(
        new Promise<FormFile>((resolveFile, rejectFile) => {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', rejectFile);
          stream.on('end', () =>
            resolveFile({
              name,
              filename: info.filename ?? '',
              contentType: info.mimeType,
              data: Buffer.concat(chunks),
            }),
          );
        }),
      );
    });
    parser.on('error', reject);
    parser.on('close', () => {
      Promise.all(files).then((parsed) => resolve({ fields, files: parsed }), reject);
    });
    parser.end(body);
  });
}
