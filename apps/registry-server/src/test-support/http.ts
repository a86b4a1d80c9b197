/** Small HTTP helpers for the server tests (plain `node:http`, no connection reuse). */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type RequestOptions as HttpsRequestOptions, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request with `agent: false`; `body` is sent whole. */
export function send(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    tls?: HttpsRequestOptions;
    socketPath?: string;
  } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const common = {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      agent: false as const,
      ...(options.socketPath === undefined ? {} : { socketPath: options.socketPath }),
    };
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { ...common, ...options.tls }, onResponse)
        : httpRequest(target, common, onResponse);
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A PATCH whose body is written piece by piece: `write()` sends a chunk, `finish()` ends the
 * body and resolves with the response.
 */
export function trickle(url: string): {
  write(chunk: string): Promise<void>;
  finish(last?: string): Promise<SimpleResponse>;
} {
  const target = new URL(url);
  let resolveResponse!: (response: SimpleResponse) => void;
  let rejectResponse!: (error: Error) => void;
  const response = new Promise<SimpleResponse>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  const req = httpRequest(target, {
    method: 'PATCH',
    agent: false,
    headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' },
  });
  req.on('response', (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () =>
      resolveResponse({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
  req.on('error', rejectResponse);
  req.flushHeaders();
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => req.write(chunk, (error) => (error ? reject(error) : resolve()))),
    finish: (last) => {
      req.end(last);
      return response;
    },
  };
}

/** Resolves `true` when a TCP connection to `port` is refused. */
export function connectionRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Starts an upload in `repo` and returns its absolute location. */
export async function startUpload(baseUrl: string, repo: string): Promise<string> {
  const response = await send(`${baseUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (response.status !== 202) throw new Error(`POST upload: ${response.status} ${response.body}`);
  return new URL(String(response.headers.location), baseUrl).toString();
}
