import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server on loopback that answers in PostgREST's wire format for the
 * requests the client tests send. PostgREST itself (a Haskell binary talking to
 * Postgres) cannot be installed on this machine, so this stands in for it: the
 * status codes, JSON error bodies (`{ code, message, details, hint }`),
 * `Content-Range` and `Accept: application/vnd.pgrst.object+json` handling follow
 * https://postgrest.org/en/stable/references/errors.html and the API reference.
 */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** True when the client closed the connection before the response was finished. */
  abortedByClient: boolean;
}

export type Handler = (req: IncomingMessage & { body: string }, res: ServerResponse) => void | Promise<void>;

export interface FakePostgrest {
  /** Base URL to use as the Supabase project URL (`http://127.0.0.1:<port>`). */
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  /** Replaces the request handler. */
  handle(handler: Handler): void;
  /** Resolves once `requests[index]` was closed by the client (or rejects after `timeoutMs`). */
  waitForClientAbort(index: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Sends a JSON body the way PostgREST does. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Sends a PostgREST error body (`{ code, details, hint, message }`). */
export function sendPostgrestError(
  res: ServerResponse,
  status: number,
  error: { code: string; message: string; details: string | null; hint: string | null },
): void {
  sendJson(res, status, error);
}

/** Sends rows, honouring `Accept: application/vnd.pgrst.object+json` (`.single()`) like PostgREST. */
export function sendRows(req: IncomingMessage, res: ServerResponse, rows: unknown[]): void {
  if (String(req.headers.accept ?? '').startsWith('application/vnd.pgrst.object+json')) {
    if (rows.length !== 1) {
      sendPostgrestError(res, 406, {
        code: 'PGRST116',
        details: `The result contains ${rows.length} rows`,
        hint: null,
        message: 'Cannot coerce the result to a single JSON object',
      });
      return;
    }
    sendJson(res, 200, rows[0]);
    return;
  }
  sendJson(res, 200, rows, { 'content-range': rows.length === 0 ? '*/*' : `0-${rows.length - 1}/*` });
}

/** Decodes the `sub` of the Bearer token (unverified: this is the fake server's "RLS"). */
export function bearerSubject(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
  const payload = match?.[1]?.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/** An unsigned JWT-shaped token carrying `sub` (the fake server does not verify signatures). */
export function fakeAccessToken(sub: string): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, role: 'authenticated' })}.c2lnbmF0dXJl`;
}

/** Starts the fake PostgREST on a free loopback port. */
export async function startFakePostgrest(initial?: Handler): Promise<FakePostgrest> {
  let handler: Handler = initial ?? ((req, res) => sendRows(req, res, []));
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        abortedByClient: false,
      };
      requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.abortedByClient = true;
      });
      void Promise.resolve(handler(Object.assign(req, { body: record.body }), res)).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      });
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    handle(next) {
      handler = next;
    },
    async waitForClientAbort(index, timeoutMs = 2_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (requests[index]?.abortedByClient) return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`request #${index} was not closed by the client within ${timeoutMs} ms`);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
