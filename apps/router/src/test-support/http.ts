// A raw node:http client for tests that need control over the request body (chunked, slow,
// over the limit) or see the response as it streams.
import {
  request,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';

/** An answer read whole. */
export interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** Reads `response` whole. */
export async function readAnswer(response: IncomingMessage): Promise<Answer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

/** Opens a request; the caller writes the body and ends it. */
export function open(
  url: string,
  options: { method?: string; headers?: OutgoingHttpHeaders } = {},
): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request(url, {
    method: options.method ?? 'POST',
    headers: options.headers ?? {},
    agent: false,
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  return { req, response };
}
