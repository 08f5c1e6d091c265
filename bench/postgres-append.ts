/**
 * Append throughput of the PostgreSQL store against a raw multi-row INSERT of the same rows, and the
 * cost of the post-commit sequencer.
 *
 *   npx tsx bench/postgres-append.ts            # throwaway server (test harness), 5 slices of 1 s per scenario
 *   DATABASE_URL=... BENCH_SECONDS=10 npx tsx bench/postgres-append.ts
 *
 * `BENCH_CASES=100x8,1x1` picks batch sizes x callers; `BENCH_ONLY=raw,herald` picks scenarios.
 *
 * Scenarios (each on a fresh schema, every call a new stream, like-for-like rows and input encoding):
 *   raw          INSERT ... SELECT FROM jsonb_array_elements($1) into a table with a bigserial position and
 *                the same unique keys (event id; stream id + version): what storing the rows costs anyway.
 *   row-seq      the design first planned: rows inserted unnumbered, then a sequencer UPDATE numbering
 *                every committed row (SQL only, no store code around it).
 *   herald       `store.append` (since migration 7 numbered in its own statement; outbox batches by the sequencer).
 */
import postgres from 'postgres';
import type { Sql } from 'postgres';
import type { NewEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from '../test/support/postgres.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 5);
/** `BENCH_CASES=100x8,1x1`: batch size x concurrent callers. */
const cases = (process.env['BENCH_CASES'] ?? '1x1,1x8,100x1,100x8').split(',').map((c) => c.split('x').map(Number) as [number, number]);
const only = process.env['BENCH_ONLY']?.split(',');

interface Scenario {
  readonly name: string;
  /** Prepares a fresh schema; returns one append of `size` events to a new stream. */
  setup(sql: Sql, schema: string): Promise<(stream: string, size: number) => Promise<void>>;
}

/** The events every scenario stores, as a caller has them: objects. */
function eventsOf(stream: string, size: number): NewEvent[] {
  return Array.from({ length: size }, (_, i) => ({
    eventId: `${stream}-${i}`,
    type: 'OrderPlaced',
    data: { orderId: stream, line: i, amount: 42.5, note: 'hello world' },
    metadata: { correlationId: stream },
  }));
}

/** The JSON the SQL-only scenarios send (the store builds the same shape). */
function eventsJson(stream: string, size: number): string {
  return JSON.stringify(eventsOf(stream, size).map((e) => ({ id: e.eventId, type: e.type, data: e.data, metadata: e.metadata })));
}

const columns = `stream_id text not null, stream_version bigint not null, event_id text not null unique, type text not null,
  data jsonb not null, metadata jsonb not null, created_at timestamptz not null default now()`;

const insertSelect = (table: string): string => `
  insert into ${table} (stream_id, stream_version, event_id, type, data, metadata)
  select $1, o, x->>'id', x->>'type', x->'data', x->'metadata'
  from jsonb_array_elements($2::text::jsonb) with ordinality as t(x, o)`;

const raw: Scenario = {
  name: 'raw',
  async setup(sql, schema) {
    await sql.unsafe(`create schema "${schema}";
      create table "${schema}".events (position bigserial primary key, ${columns}, unique (stream_id, stream_version))`);
    const statement = insertSelect(`"${schema}".events`);
    return async (stream, size) => void (await sql.unsafe(statement, [stream, eventsJson(stream, size)]));
  },
};

const rowSequencer: Scenario = {
  name: 'row-seq',
  async setup(sql, schema) {
    const s = `"${schema}"`;
    await sql.unsafe(`create schema ${s};
      create table ${s}.events (id bigserial not null, event_number bigint, ${columns}, primary key (stream_id, stream_version));
      create unique index on ${s}.events (event_number) where event_number is not null;
      create index on ${s}.events (stream_id, event_number) where event_number is not null;
      create index on ${s}.events (id) where event_number is null;
      create table ${s}.sequencer (last_number bigint not null); insert into ${s}.sequencer values (0);
      create function ${s}.seq(p_max int) returns int language plpgsql as $$
      declare v_last bigint; v_count int;
      begin
        perform pg_advisory_xact_lock(4242);
        select last_number into v_last from ${s}.sequencer;
        with b as (select ctid as row_id, row_number() over (order by id) rn from ${s}.events where event_number is null order by id limit p_max)
        update ${s}.events e set event_number = v_last + b.rn from b where e.ctid = b.row_id;
        get diagnostics v_count = row_count;
        if v_count > 0 then update ${s}.sequencer set last_number = v_last + v_count; end if;
        return v_count;
      end $$ set enable_hashjoin = off set enable_mergejoin = off;`);
    const statement = insertSelect(`${s}.events`);
    return async (stream, size) => {
      await sql.unsafe(statement, [stream, eventsJson(stream, size)]);
      while ((await sql.unsafe<{ n: number }[]>(`select ${s}.seq(10000) as n`))[0]?.n === 10000);
    };
  },
};

const herald: Scenario = {
  name: 'herald',
  async setup(sql, schema) {
    const store = postgresStore({ sql, schema });
    await store.migrate();
    return async (stream, size) => void (await store.append({ streamId: stream, events: eventsOf(stream, size), expectedVersion: 'any' }));
  },
};

/** Events per second of `append` with `callers` concurrent callers, over `ms` milliseconds. */
async function rate(append: (stream: string, size: number) => Promise<void>, size: number, callers: number, ms: number): Promise<number> {
  let events = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        await append(`s${next++}-${Math.random().toString(36).slice(2)}`, size);
        events += size;
      }
    }),
  );
  return (events * 1000) / (performance.now() - started);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Median events/s of each scenario. The machine is shared and noisy, so scenarios take turns in short
 * slices (one per round) instead of one long run each, and load drifts hit them alike.
 */
async function measure(sql: Sql, scenarios: readonly Scenario[], size: number, callers: number): Promise<number[]> {
  const rounds = Math.max(3, seconds);
  const prepared = await Promise.all(
    scenarios.map(async (scenario) => {
      const schema = await freshSchema(sql);
      return { schema, append: await scenario.setup(sql, schema), rates: [] as number[] };
    }),
  );
  for (let round = 0; round < rounds; round++) {
    for (const entry of prepared) entry.rates.push(await rate(entry.append, size, callers, 1000));
  }
  for (const { schema } of prepared) await sql.unsafe(`drop schema "${schema}" cascade`);
  return prepared.map((entry) => median(entry.rates));
}

/** Numbers `batches` committed unnumbered appends of `size` events; returns ms per 1,000 events. */
async function sequencerCost(sql: Sql, batches: number, size: number): Promise<number> {
  const schema = await freshSchema(sql);
  const store = postgresStore({ sql, schema, sequencerBatchSize: 100_000 });
  await store.migrate();
  for (let i = 0; i < batches; i++) {
    const events = Array.from({ length: size }, (_, j) => ({ eventId: `b${i}-${j}`, type: 'T', data: { j }, metadata: {} }));
    await sql.begin((tx) => store.append({ streamId: `s${i}`, events, expectedVersion: 'any', transaction: tx }));
  }
  const started = performance.now();
  await store.headPosition();
  const elapsed = performance.now() - started;
  await sql.unsafe(`drop schema "${schema}" cascade`);
  return (elapsed / (batches * size)) * 1000;
}

/** The same for the row-level sequencer: `rows` committed unnumbered rows numbered by one UPDATE run. */
async function rowSequencerCost(sql: Sql, rows: number): Promise<number> {
  const schema = await freshSchema(sql);
  const append = await rowSequencer.setup(sql, schema);
  const s = `"${schema}"`;
  await append('warm-up', 1);
  for (let i = 0; i < rows / 100; i++) await sql.unsafe(insertSelect(`${s}.events`), [`s${i}`, eventsJson(`s${i}`, 100)]);
  const started = performance.now();
  await sql.unsafe(`select ${s}.seq(${rows * 2})`);
  const elapsed = performance.now() - started;
  await sql.unsafe(`drop schema ${s} cascade`);
  return (elapsed / rows) * 1000;
}

const server = await startPostgres();
const sql = postgres(server.url, { max: 12, onnotice: () => {} });
try {
  console.log(`append throughput, median events/s of ${Math.max(3, seconds)} interleaved 1 s slices (server: fsync=off, full_page_writes=off)`);
  console.log('batch callers        raw    row-seq     herald  herald/raw');
  for (const [size, callers] of cases) {
    const chosen = [raw, rowSequencer, herald].filter((scenario) => only === undefined || only.includes(scenario.name));
    const measured = await measure(sql, chosen, size, callers);
    const rateOf = (scenario: Scenario): number => measured[chosen.indexOf(scenario)] ?? Number.NaN;
    const [r, q, h] = [rateOf(raw), rateOf(rowSequencer), rateOf(herald)];
    const cell = (n: number): string => Math.round(n).toString().padStart(10);
    console.log(`${String(size).padStart(5)} ${String(callers).padStart(7)} ${cell(r)} ${cell(q)} ${cell(h)} ${(h / r).toFixed(2).padStart(11)}`);
  }
  console.log('sequencer, ms per 1,000 events numbered in one run:');
  console.log(`  1,000 appends of 1 event:    ${(await sequencerCost(sql, 1000, 1)).toFixed(2)}`);
  console.log(`  1,000 appends of 100 events: ${(await sequencerCost(sql, 1000, 100)).toFixed(2)}`);
  console.log(`  row-level UPDATE, 100,000 rows: ${(await rowSequencerCost(sql, 100_000)).toFixed(2)}`);
} finally {
  await sql.end();
  await server.stop();
}
