import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres, { type Sql } from 'postgres';
import { createApp, statusPage, type App } from '../src/index.ts';
import { postgresStore, type PostgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture, type WorkerProcess } from './support/processes.ts';
import { waitFor } from './support/wait.ts';

/**
 * The status page against a real PostgreSQL, with `Counter` running in another real process
 * (test/fixtures/ops-node.ts); the page is checked over HTTP and in a real headless Chromium.
 */
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'a-test-token-of-some-length';
const screenshot = fileURLToPath(new URL('../docs/operations.png', import.meta.url));

let pg: TestPostgres;
let sql: Sql;
let schema: string;
let store: PostgresStore;
let writer: App;
let nodes: WorkerProcess[];
let server: Server;
let base: string;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 4, onnotice: () => {} });
  schema = await freshSchema(sql);
  store = postgresStore({ url: pg.url, schema });
  await store.migrate();
  const s = sql(schema);
  await sql`create table ${s}.effects (id bigserial primary key, event_number bigint, node text)`;
  await sql`create table ${s}.resets (id bigserial primary key, node text)`;
  await sql`create table ${s}.fixed (one int)`;
  nodes = [startFixture('ops-node.ts', pg.url, schema, 'worker-1'), startFixture('ops-node.ts', pg.url, schema, 'worker-2')];
  await Promise.all(nodes.map((node) => node.ready));
  await waitFor(async () => (await sql`select distinct owner from ${s}.handler_slots where lease_until > now()`).length === 2, 'both processes holding slots');
  writer = createApp({ store: postgresStore({ url: pg.url, schema }), name: 'writer' });
  await writer.start([]);
  for (let i = 0; i < 12; i++) await writer.dispatch(`order-${i % 4}`, { type: 'OrderPlaced', data: { poison: i === 3 || i === 7, total: i } });
  await waitFor(async () => (await sql`select 1 from ${s}.dead_letters`).length === 2 && (await sql`select 1 from ${s}.effects`).length === 10, 'ten effects, two dead letters');
  server = createServer(statusPage({ store, token: TOKEN }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await writer?.stop();
  for (const node of nodes ?? []) node.child.kill('SIGTERM');
  await Promise.all((nodes ?? []).map((node) => node.exited));
  await store?.close();
  await sql?.end();
  await pg?.stop();
});

const deadLetterIds = async (): Promise<string[]> => (await sql<{ id: string }[]>`select id from ${sql(schema)}.dead_letters order by id`).map((row) => row.id);

describe('status page over HTTP', () => {
  it('serves the page and the JSON of herald status', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(await page.text(), /https?:\/\/(?!127)/, 'nothing loaded from elsewhere');
    const status = (await (await fetch(`${base}/api/status`)).json()) as { head: number; handlers: { name: string; members: { label: string }[]; deadLetters: number }[] };
    assert.equal(status.head, 12);
    assert.equal(status.handlers[0]?.name, 'Counter');
    assert.deepEqual(status.handlers[0]?.members.map((m) => m.label).sort(), ['worker-1', 'worker-2']);
    assert.equal(status.handlers[0]?.deadLetters, 2);
    const letters = (await (await fetch(`${base}/api/dead-letters`)).json()) as { id: string; error: { message: string } }[];
    assert.deepEqual(letters.map((d) => d.id), await deadLetterIds());
  });

  it('refuses every action without the right token (401) and changes nothing', async () => {
    const [id] = await deadLetterIds();
    const before = await deadLetterIds();
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }]) {
      for (const [method, path] of [['POST', `/api/dead-letters/${id ?? ''}/replay`], ['DELETE', `/api/dead-letters/${id ?? ''}`], ['POST', '/api/handlers/Counter/reset']] as const) {
        const response = await fetch(`${base}${path}`, { method, headers });
        assert.equal(response.status, 401, `${method} ${path}`);
      }
    }
    assert.deepEqual(await deadLetterIds(), before);
    assert.equal((await sql`select 1 from ${sql(schema)}.resets`).length, 0);
  });

  it('treats odd ids and names as data', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    for (const odd of ['../../etc/passwd', '"quoted\'', '<script>alert(1)</script>', '..', '.']) {
      // A whole segment of dots is resolved by the client's URL parser before it is sent: it reaches no action either.
      const dots = /^\.+$/.test(odd);
      const response = await fetch(`${base}/api/dead-letters/${encodeURIComponent(odd)}`, { method: 'DELETE', headers: auth });
      assert.equal(response.status, 404, odd);
      if (!dots) assert.equal(((await response.json()) as { error: string }).error, `no dead letter with id ${JSON.stringify(odd)}`);
      const reset = await fetch(`${base}/api/handlers/${encodeURIComponent(odd)}/reset`, { method: 'POST', headers: auth });
      assert.equal(reset.status, 404, odd);
      assert.match(((await reset.json()) as { error: string }).error, dots ? /not found/ : /no handler named/);
    }
    assert.equal((await deadLetterIds()).length, 2);
  });

  it('rejects a token shorter than 16 characters', () => {
    assert.throws(() => statusPage({ store, token: 'short' }), /token must be a string of at least 16 characters/);
  });
});

describe('status page in a real browser', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)` }, () => {
  it('shows the handlers live, replays through the button with the token, and refuses without it', async () => {
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 560 });
      await page.goto(`${base}/#token=${TOKEN}`);
      await page.waitForSelector('body[data-loaded="true"]');
      const row = await page.$eval('#handlers tr[data-handler="Counter"]', (tr) => tr.textContent ?? '');
      assert.match(row, /Counter/);
      assert.match(row, /worker-1 \[[0-3,-]+\]/);
      assert.match(row, /worker-2 \[[0-3,-]+\]/);
      // The poison error carries markup: it is shown as text, never run or parsed.
      const errors = await page.$$eval('#dead-letters td.error', (cells) => cells.map((cell) => cell.textContent));
      assert.ok(errors.every((text) => text?.includes('<script>alert("x")</script>')), String(errors));
      assert.equal(await page.$$eval('main script, td *', (nodes) => nodes.filter((n) => n.tagName === 'SCRIPT').length), 0);

      // Live: a new event shows up without a reload.
      await writer.dispatch('order-9', { type: 'OrderPlaced', data: { total: 99 } });
      await page.waitForFunction(`document.getElementById('head')?.textContent === '13'`);
      await page.screenshot({ path: await screenshotPath() });

      // Without the token the delete is refused and nothing changes.
      const [first, second] = await deadLetterIds();
      await page.evaluate(`(() => { const input = document.getElementById('token'); input.value = ''; input.dispatchEvent(new Event('input')); })()`);
      await page.click(`#dead-letters tr[data-id="${second ?? ''}"] button.delete`);
      await page.waitForFunction(`/refused \\(401\\)/.test(document.getElementById('notice')?.textContent ?? '')`);
      assert.deepEqual(await deadLetterIds(), [first, second]);

      // With the token (and the handler's bug fixed) the replay button hands the event to the other process.
      await sql`insert into ${sql(schema)}.fixed values (1)`;
      await page.type('#token', TOKEN);
      await page.click(`#dead-letters tr[data-id="${first ?? ''}"] button.replay`);
      await page.waitForFunction(`/: handled/.test(document.getElementById('notice')?.textContent ?? '')`, { timeout: 30_000 });
      assert.deepEqual(await deadLetterIds(), [second]);
      await page.waitForFunction(`document.querySelector('#dead-letters tr[data-id="${first ?? ''}"]') === null`);
    } finally {
      await browser.close();
    }
  });
});

describe('status page mounted under a prefix', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM} (apt-get install chromium)` }, () => {
  it('loads its data relative to where it is mounted, with or without the trailing slash', async () => {
    const page = statusPage({ store, token: TOKEN });
    // As Express's app.use('/herald', page) does: the prefix is taken off req.url.
    const mounted = createServer((req, res) => {
      if (req.url?.startsWith('/herald') !== true) {
        res.writeHead(404).end();
        return;
      }
      req.url = req.url.slice('/herald'.length) || '/';
      page(req, res);
    });
    await new Promise<void>((resolve) => mounted.listen(0, '127.0.0.1', resolve));
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      for (const path of ['/herald', '/herald/']) {
        const tab = await browser.newPage();
        await tab.goto(`http://127.0.0.1:${(mounted.address() as AddressInfo).port}${path}`);
        await tab.waitForSelector('body[data-loaded="true"]');
        assert.match(await tab.$eval('#handlers tbody', (body) => body.textContent ?? ''), /Counter/, path);
      }
    } finally {
      await browser.close();
      mounted.closeAllConnections();
      await new Promise((resolve) => mounted.close(resolve));
    }
  });
});

/** The screenshot goes to docs/ only when asked (`HERALD_UPDATE_SCREENSHOT=1`), so a test run leaves the checkout as it was. */
async function screenshotPath(): Promise<`${string}.png`> {
  if (process.env['HERALD_UPDATE_SCREENSHOT'] !== '1') return join(mkdtempSync(join(tmpdir(), 'herald-page-')), 'operations.png') as `${string}.png`;
  mkdirSync(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true });
  return screenshot as `${string}.png`;
}
