/**
 * The shop service's entry point: database, herald, HTTP server, graceful shutdown.
 *
 *   npm run example:shop                  # embedded PostgreSQL, data kept in .herald-shop/
 *   PORT=8080 npm run example:shop
 *   DATABASE_URL=postgres://… npm run example:shop
 *
 * Environment: PORT (default 3000; 0 picks a free port), HOST (default 127.0.0.1), DATABASE_URL, SHOP_DATA_DIR
 * (embedded server's directory, default .herald-shop/ in the checkout), SHOP_SCHEMA (read model, default 'shop'),
 * HERALD_SCHEMA (herald's tables, default 'herald').
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createShop } from './app.ts';
import { devDatabase } from './dev-database.ts';
import { createHttpHandler } from './http.ts';
import { fakeMailProvider } from './mail.ts';

const log = (line: string): void => console.log(line);

function setting(name: string, fallback: string): string {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

function portFrom(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return port;
}

const port = portFrom(setting('PORT', '3000'));
const host = setting('HOST', '127.0.0.1');
const dataDir = setting('SHOP_DATA_DIR', fileURLToPath(new URL('../../.herald-shop', import.meta.url)));

const database = await devDatabase(dataDir);
log(`database  ${database.description}`);
const sql = postgres(database.url, { onnotice: () => {} });
const shop = createShop({
  sql,
  mail: fakeMailProvider(log),
  schema: setting('SHOP_SCHEMA', 'shop'),
  heraldSchema: setting('HERALD_SCHEMA', 'herald'),
  log,
});
const server = createServer(createHttpHandler(shop));

let stopping: Promise<void> | undefined;

/** Stops taking requests, lets those in flight finish, drains the handlers, then closes the pool and the server. */
function shutdown(reason: string, exitCode: number): Promise<void> {
  if (stopping !== undefined) return stopping;
  log(`shutdown  ${reason}`);
  process.exitCode = exitCode;
  // A shutdown that hangs (a stuck request, an unreachable database) must not keep the process for ever.
  setTimeout(() => {
    console.error('shutdown  still not done after 20 s: exiting');
    process.exit(1);
  }, 20_000).unref();
  stopping = (async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (server.listening) await closed;
    await shop.stop();
    await sql.end({ timeout: 5 });
    await database.stop();
    log('shutdown  done');
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping !== undefined) {
      console.error(`shutdown  ${signal} again: exiting now`);
      process.exit(1);
    }
    void shutdown(signal, 0).catch((error: unknown) => {
      console.error('shutdown  failed:', error);
      process.exit(1);
    });
  });
}

try {
  await shop.start();
  server.listen(port, host);
  await once(server, 'listening');
} catch (error) {
  console.error('start-up failed:', error);
  await shutdown('start-up failed', 1).catch(() => undefined);
  process.exit(1);
}
shop.done.catch((error: unknown) => {
  console.error('handlers gave up:', error);
  void shutdown('handlers gave up', 1);
});

const { port: actual } = server.address() as AddressInfo;
log(`shop listening on http://${host.includes(':') ? `[${host}]` : host}:${actual}`);
