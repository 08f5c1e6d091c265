/**
 * examples/shop run as a real service: a child process (`node --import tsx examples/shop/server.ts`, as
 * `npm run example:shop` runs it) on its own throwaway embedded PostgreSQL (or DATABASE_URL, in fresh schemas),
 * driven over HTTP with fetch.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const root = fileURLToPath(new URL('..', import.meta.url));
const suffix = randomUUID().slice(0, 8);
const schemas = { SHOP_SCHEMA: `shop_test_${suffix}`, HERALD_SCHEMA: `herald_shop_test_${suffix}` };
const external = (process.env['DATABASE_URL'] ?? '') !== '';

interface Response {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

interface DeadLetterJson {
  readonly handler: string;
  readonly streamId: string;
  readonly attempts: number;
  readonly error: string;
}

let child: ChildProcess | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null });
let output = '';
let base = '';
const dataDir = mkdtempSync(join(tmpdir(), 'herald-shop-test-'));

/** Starts the service and resolves with the URL it printed; rejects if it exits first. */
function startShop(): Promise<string> {
  const started = spawn(process.execPath, ['--import', 'tsx', 'examples/shop/server.ts'], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', PORT: '0', SHOP_DATA_DIR: dataDir, ...schemas },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = started;
  exited = new Promise((resolve) => started.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /shop listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url !== undefined) resolve(url);
    };
    started.stdout.on('data', collect);
    started.stderr.on('data', collect);
    void exited.then(({ code, signal }) => reject(new Error(`shop exited (${code ?? signal}) before listening:\n${output}`)));
  });
}

/** After a failure: the child is killed, and so is its PostgreSQL server (a SIGKILLed child cannot stop it). */
async function killEverything(): Promise<void> {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  const pidFile = join(dataDir, 'data', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      if (pid > 0) process.kill(pid, 'SIGQUIT'); // PostgreSQL's immediate shutdown
    } catch {
      // already gone
    }
    await waitFor(() => !existsSync(pidFile), 'the embedded PostgreSQL to stop', 20_000).catch(() => undefined);
  }
}

/** Polls `predicate` every 50 ms; the bound only keeps a broken service from hanging the test (nothing is timed). */
async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; service output:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<Response> {
  const init: RequestInit = body === undefined ? { method } : { method, body, headers: { 'content-type': contentType } };
  const response = await fetch(`${base}${path}`, init);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/, `${method} ${path} answers JSON`);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const order = (email: string): string => JSON.stringify({ email, items: [{ sku: 'tea', quantity: 2, priceCents: 450 }] });

async function placeOrder(email: string): Promise<string> {
  const placed = await request('POST', '/orders', order(email));
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  assert.equal(typeof placed.body['id'], 'string');
  return placed.body['id'] as string;
}

async function deadLettersOf(streamId: string): Promise<DeadLetterJson[]> {
  const { body } = await request('GET', '/dead-letters');
  return (body['deadLetters'] as DeadLetterJson[]).filter((dead) => dead.streamId === streamId);
}

describe('examples/shop over HTTP', { timeout: 180_000 }, () => {
  before(async () => {
    base = await startShop();
  });

  after(async () => {
    await killEverything();
    if (external) {
      const sql = postgres(process.env['DATABASE_URL'] as string, { max: 1, onnotice: () => {} });
      for (const schema of Object.values(schemas)) await sql`drop schema if exists ${sql(schema)} cascade`;
      await sql.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('POST /orders answers 201 with the id, and GET /orders/:id right after returns the order (strong dispatch)', async () => {
    const placed = await request('POST', '/orders', order('ann@example.com'));
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const id = placed.body['id'] as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(placed.headers.get('location'), `/orders/${id}`);

    const read = await request('GET', `/orders/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body['id'], id);
    assert.equal(read.body['email'], 'ann@example.com');
    assert.deepEqual(read.body['items'], [{ sku: 'tea', quantity: 2, priceCents: 450 }]);
    assert.equal(read.body['totalCents'], 900);
  });

  it('the mailer confirms an order: its ConfirmationSent event reaches the read model', async () => {
    const id = await placeOrder('bob@example.com');
    await waitFor(async () => ((await request('GET', `/orders/${id}`)).body['confirmation'] as { status: string }).status === 'sent', 'the confirmation');
    assert.match(output, /mail {6}sent "Order [0-9a-f-]+ confirmed" to bob@example\.com/);
  });

  it('rejects bad input with 400/413/415 and a JSON error naming the problem', async () => {
    const broken = await request('POST', '/orders', '{"email":');
    assert.equal(broken.status, 400);
    assert.match(broken.body['error'] as string, /body is not valid JSON/);

    const noEmail = await request('POST', '/orders', JSON.stringify({ items: [{ sku: 'tea', quantity: 1, priceCents: 1 }] }));
    assert.equal(noEmail.status, 400);
    assert.deepEqual(noEmail.body, { error: 'email must be an e-mail address, got nothing', field: 'email' });

    const zero = await request('POST', '/orders', JSON.stringify({ email: 'a@example.com', items: [{ sku: 'tea', quantity: 0, priceCents: 1 }] }));
    assert.equal(zero.status, 400);
    assert.equal(zero.body['field'], 'items[0].quantity');
    assert.match(zero.body['error'] as string, /items\[0\]\.quantity must be an integer from 1 to 1000, got 0/);

    const empty = await request('POST', '/orders', JSON.stringify({ email: 'a@example.com', items: [] }));
    assert.equal(empty.status, 400);
    assert.equal(empty.body['field'], 'items');

    const array = await request('POST', '/orders', '[]');
    assert.equal(array.status, 400);
    assert.equal(array.body['field'], 'body');

    const form = await request('POST', '/orders', 'email=a', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 415);

    const huge = await request('POST', '/orders', JSON.stringify({ email: 'a@example.com', pad: 'x'.repeat(70_000) }));
    assert.equal(huge.status, 413);
  });

  it('answers 404 for an unknown order or route, and 405 with Allow for a wrong method', async () => {
    const unknown = await request('GET', `/orders/${randomUUID()}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body['error'] as string, /no order/);
    assert.equal((await request('GET', '/orders/not-a-uuid')).status, 404);
    assert.equal((await request('GET', '/nowhere')).status, 404);
    assert.equal((await request('POST', '/dead-letters/nope/replay')).status, 404);

    const wrong = await request('DELETE', '/orders');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
  });

  it('a mail that keeps failing is retried with backoff, then dead-lettered; the orders after it go on', async () => {
    const id = await placeOrder('fail@example.com');
    await waitFor(async () => (await deadLettersOf(`order-${id}`)).length > 0, 'the dead letter', 60_000);
    const [dead] = await deadLettersOf(`order-${id}`);
    assert.equal(dead?.handler, 'OrderMailer');
    assert.equal(dead?.attempts, 4);
    assert.match(dead?.error ?? '', /mail provider rejected fail@example\.com \(attempt 4\)/);
    for (const attempt of [1, 2, 3]) assert.match(output, new RegExp(`OrderMailer: attempt ${attempt} failed \\(mail provider rejected fail@example\\.com.*\\): retry`));
    assert.match(output, /OrderMailer: attempt 4 failed \(mail provider rejected fail@example\.com.*\): skip/);

    const read = await request('GET', `/orders/${id}`);
    assert.deepEqual(read.body['confirmation'], { status: 'pending' });

    const later = await placeOrder('carol@example.com');
    await waitFor(async () => ((await request('GET', `/orders/${later}`)).body['confirmation'] as { status: string }).status === 'sent', 'the next order confirmed');
  });

  it('a mail that fails twice is retried and then sent, with no dead letter', async () => {
    const id = await placeOrder('flaky@example.com');
    await waitFor(async () => ((await request('GET', `/orders/${id}`)).body['confirmation'] as { status: string }).status === 'sent', 'the flaky confirmation', 60_000);
    assert.deepEqual(await deadLettersOf(`order-${id}`), []);
  });

  it('shuts down gracefully on SIGTERM: exit code 0, handlers drained, PostgreSQL stopped', async () => {
    child?.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.equal(signal, null, output);
    assert.equal(code, 0, output);
    assert.match(output, /shutdown {2}SIGTERM[\s\S]*shutdown {2}done/);
    if (!external) assert.equal(existsSync(join(dataDir, 'data', 'postmaster.pid')), false, 'the embedded server is stopped');
  });
});
