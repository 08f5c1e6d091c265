/**
 * The HTTP layer on `node:http`: routing, JSON in and out, and mapping failures to status codes.
 * Everything the shop does is in app.ts; this file only translates.
 *
 * | route | answer |
 * | --- | --- |
 * | `POST /orders` | 201 `{ id, order }` (read back right after the strong dispatch); 202 `{ id }` if the read model is late; 400 bad body |
 * | `GET /orders/:id` | 200 the order; 404 unknown |
 * | `GET /dead-letters` | 200 `{ deadLetters: [...] }` |
 * | `POST /dead-letters/:id/replay` | 200 `{ outcome: 'handled' \| 'skipped' \| 'stopped' }`; 404 unknown |
 * | `GET /health` | 200 `{ handlers: [...] }`; 503 when a handler is not running |
 * | anything else | 404, or 405 with `Allow` for a known path |
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Shop } from './app.ts';
import { InvalidOrderError, parseOrderRequest } from './orders.ts';

const MAX_BODY_BYTES = 64 * 1024;

/** A failure with its HTTP status; the body is `{ error: message, ...details }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

type Route = {
  readonly method: string;
  readonly path: RegExp;
  readonly run: (params: string[], request: IncomingMessage) => Promise<Reply>;
};

function send(response: ServerResponse, { status, body, headers = {} }: Reply): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** Reads and parses a JSON body: 415 if it is not declared JSON, 413 if too large, 400 if it does not parse. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(415, `content-type must be application/json, got ${type === '' ? 'none' : JSON.stringify(type)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (error) {
    throw new HttpError(400, `body is not valid JSON: ${(error as Error).message}`);
  }
}

function routes(shop: Shop): Route[] {
  return [
    {
      method: 'POST',
      path: /^\/orders$/,
      async run(_params, request) {
        const body = await readJson(request);
        let order;
        try {
          order = parseOrderRequest(body);
        } catch (error) {
          if (error instanceof InvalidOrderError) throw new HttpError(400, error.message, { field: error.field });
          throw error;
        }
        const placed = await shop.placeOrder(order);
        const headers = { location: `/orders/${placed.id}` };
        return placed.order === undefined
          ? { status: 202, body: { id: placed.id, note: 'accepted; the order will be readable shortly' }, headers }
          : { status: 201, body: { id: placed.id, order: placed.order }, headers };
      },
    },
    {
      method: 'GET',
      path: /^\/orders\/([^/]+)$/,
      async run([id = '']) {
        const order = await shop.findOrder(id);
        if (order === undefined) throw new HttpError(404, `no order ${JSON.stringify(id)}`);
        return { status: 200, body: order };
      },
    },
    {
      method: 'GET',
      path: /^\/dead-letters$/,
      run: async () => ({ status: 200, body: { deadLetters: await shop.deadLetters() } }),
    },
    {
      method: 'POST',
      path: /^\/dead-letters\/([^/]+)\/replay$/,
      async run([id = '']) {
        const outcome = await shop.replayDeadLetter(id);
        if (outcome === undefined) throw new HttpError(404, `no dead letter ${JSON.stringify(id)}`);
        return { status: 200, body: { outcome } };
      },
    },
    {
      method: 'GET',
      path: /^\/health$/,
      async run() {
        const handlers = shop.status().map(({ name, state, cursor, lag, lastError }) => ({ name, state, cursor, lag, lastError: lastError?.message }));
        const healthy = handlers.every((h) => h.state === 'live' || h.state === 'catching_up');
        return { status: healthy ? 200 : 503, body: { handlers } };
      },
    },
  ];
}

function decodePath(url: string): string {
  const path = new URL(url, 'http://localhost').pathname;
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(400, `path is not valid percent-encoding: ${JSON.stringify(path)}`);
  }
}

async function route(table: readonly Route[], request: IncomingMessage): Promise<Reply> {
  const path = decodePath(request.url ?? '/');
  const matching = table.filter((r) => r.path.test(path));
  if (matching.length === 0) throw new HttpError(404, `no route ${request.method ?? ''} ${path}`);
  const match = matching.find((r) => r.method === request.method);
  if (match === undefined) {
    const allow = matching.map((r) => r.method).join(', ');
    throw new HttpError(405, `${request.method ?? ''} not allowed on ${path} (allowed: ${allow})`, {}, { allow });
  }
  return match.run(match.path.exec(path)?.slice(1) ?? [], request);
}

/** The request listener for `http.createServer`. Unexpected errors are logged and answered with 500. */
export function createHttpHandler(shop: Shop, log: (line: string) => void = console.error): RequestListener {
  const table = routes(shop);
  return (request, response) => {
    route(table, request)
      .catch((error: unknown): Reply => {
        if (error instanceof HttpError) return { status: error.status, body: { error: error.message, ...error.details }, headers: error.headers };
        log(`http      ${request.method ?? ''} ${request.url ?? ''} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return { status: 500, body: { error: 'internal error' } };
      })
      .then((reply) => send(response, reply))
      .catch(() => response.destroy());
  };
}
