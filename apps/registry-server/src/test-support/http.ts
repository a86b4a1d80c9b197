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
  /** Closes the connection mid-body, as a client that goes away. */
  abort(): void;
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
    abort: () => {
      response.catch(() => {});
      req.destroy();
    },
  };
}

/**
 * Writes `bytes` on a fresh connection to `port` and resolves with everything the server sent
 * until it closed the connection (or `timeoutMs` passed: then `timedOut`).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  timeoutMs = 5_000,
): Promise<{ text: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const done = (timedOut: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), timedOut });
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => done(false));
    socket.on('error', () => {});
  });
}

/** The responses in a raw HTTP/1.1 byte stream: status and body of each (`Content-Length` framed). */
export function parseResponses(text: string): { status: number; headers: string; body: string }[] {
  const responses: { status: number; headers: string; body: string }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    responses.push({
      status: Number(head.slice(9, 12)),
      headers: head,
      body: rest.slice(end + 4, end + 4 + length),
    });
    rest = rest.slice(end + 4 + length);
  }
  return responses;
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
