/**
 * The status page as a `node:http` request handler (also mountable in Express or Fastify): the page, its JSON API,
 * and the actions (replay, delete, reset), which need `Authorization: Bearer <token>`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HandlerConfigError } from '../errors.ts';
import type { EventStore } from '../store/types.ts';
import { pageHtml } from './page-html.ts';
import { requestReplay, requestReset } from './requests.ts';
import { readStatus, type HandlerReport, type StatusReport } from './status.ts';

/** Options of {@link statusPage}. */
export interface StatusPageOptions {
  /** The store to show (a PostgreSQL store shows every process; replay and reset need one). */
  readonly store: EventStore;
  /** The bearer token every action needs (at least 16 characters). */
  readonly token: string;
  /** How long replay and reset wait for the processes running the handler, in ms. @default 30000 */
  readonly actionTimeoutMs?: number;
}

/** A handler as the page shows it: the status plus events handled per second over the last minute. */
export interface PageHandlerReport extends HandlerReport {
  /** Events per second over the last minute (from cursor samples this page took), `undefined` before a second sample. */
  readonly throughput: number | undefined;
}

/** A `(req, res)` handler for `node:http`, Express or Fastify. */
export type StatusPageHandler = (req: IncomingMessage, res: ServerResponse) => void;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

/** Path segments of the request, each percent-decoded, without resolving `.` or `..` (they are data). */
function segments(url: string | undefined): string[] | undefined {
  const path = (url ?? '/').split('?')[0] ?? '/';
  const raw = path.split('/').slice(1);
  if (raw.at(-1) === '') raw.pop();
  try {
    return raw.map((part) => decodeURIComponent(part));
  } catch {
    return undefined;
  }
}

/** Keeps cursor samples per handler for the last minute, to report throughput. */
function createThroughput(now: () => number): (report: StatusReport) => PageHandlerReport[] {
  const samples = new Map<string, { at: number; cursor: number }[]>();
  return (report) =>
    report.handlers.map((handler) => {
      const list = samples.get(handler.name) ?? [];
      const at = now();
      list.push({ at, cursor: handler.cursor });
      while (list.length > 2 && (list[0] as { at: number }).at < at - 60_000) list.shift();
      samples.set(handler.name, list);
      const first = list[0] as { at: number; cursor: number };
      const seconds = (at - first.at) / 1000;
      const throughput = seconds > 0 ? Math.max(0, handler.cursor - first.cursor) / seconds : undefined;
      return { ...handler, throughput };
    });
}

/**
 * Creates the status page. `GET /` the page; `GET /api/status` the JSON of `herald status --json` (each handler with
 * `throughput` besides); `GET /api/dead-letters`; `POST /api/dead-letters/:id/replay`, `DELETE /api/dead-letters/:id`,
 * `POST /api/handlers/:name/reset[?to=origin|current|N]` with `Authorization: Bearer <token>` (else 401, nothing done).
 * @example
 * import { createServer } from 'node:http';
 * createServer(statusPage({ store, token: process.env.HERALD_TOKEN! })).listen(4680, '127.0.0.1');
 */
export function statusPage(options: StatusPageOptions): StatusPageHandler {
  const { store, token } = options;
  if (typeof token !== 'string' || token.length < 16) throw new HandlerConfigError('statusPage: token must be a string of at least 16 characters', 'token');
  const timeoutMs = options.actionTimeoutMs ?? 30_000;
  const expected = digest(`Bearer ${token}`);
  const withThroughput = createThroughput(() => Date.now());
  const authorized = (req: IncomingMessage): boolean => timingSafeEqual(digest(req.headers.authorization ?? ''), expected);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = segments(req.url);
    const method = req.method ?? 'GET';
    if (parts === undefined) return send(res, 400, { error: 'the path is not valid percent-encoding' });
    const [api, kind, id, action, extra] = parts;
    if (parts.length === 0 && method === 'GET') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
        'x-content-type-options': 'nosniff',
      });
      res.end(pageHtml);
      return;
    }
    if (api !== 'api' || extra !== undefined) return send(res, 404, { error: 'not found' });
    if (kind === 'status' && id === undefined && method === 'GET') {
      const report = await readStatus(store);
      return send(res, 200, { head: report.head, handlers: withThroughput(report) });
    }
    if (kind === 'dead-letters' && id === undefined && method === 'GET') return send(res, 200, await store.listDeadLetters());
    const isAction = (kind === 'dead-letters' && id !== undefined && ((action === 'replay' && method === 'POST') || (action === undefined && method === 'DELETE')))
      || (kind === 'handlers' && id !== undefined && action === 'reset' && method === 'POST');
    if (!isAction || id === undefined) return send(res, 404, { error: 'not found' });
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, 401, { error: 'a valid bearer token is needed' });
    }
    if (kind === 'handlers') {
      const to = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('to');
      const target = to === null ? 'initial' : to === 'origin' || to === 'current' ? to : /^\d+$/.test(to) ? Number(to) : undefined;
      if (target === undefined) return send(res, 400, { error: `to must be origin, current or an event number, got ${JSON.stringify(to)}` });
      const result = await requestReset(store, id, { to: target, timeoutMs });
      return send(res, 200, { ...result, message: `cursors at ${String(result.position)}` });
    }
    if (action === 'replay') {
      const result = await requestReplay(store, id, { timeoutMs });
      return send(res, 200, { ...result, message: result.state === 'queued' ? 'queued for the next process running the handler' : result.outcome });
    }
    if (!(await store.removeDeadLetter(id))) return send(res, 404, { error: `no dead letter with id ${JSON.stringify(id)}` });
    return send(res, 200, { deleted: id, message: 'deleted' });
  }

  return (req, res) => {
    route(req, res).catch((error: unknown) => {
      const notFound = error instanceof HandlerConfigError;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) send(res, notFound ? 404 : 500, { error: message });
      else res.end();
    });
  };
}
