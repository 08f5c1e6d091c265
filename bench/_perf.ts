import postgres from 'postgres';
import { writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { postgresStore } from '/work/wt-writepath/src/store/postgres/index.ts';
import { startPostgres } from '/work/wt-writepath/test/support/postgres.ts';
const server = await startPostgres();
const sql = postgres(server.url, { max: 1, onnotice: () => {} });
await postgresStore({ sql, schema: 'h' }).migrate();
const f = process.env.F ?? 'one';
const script = f === 'raw'
  ? `insert into h.events (stream_id, stream_version, event_id, type, data, metadata) values ('s'||random(), 1, md5(random()::text), 'T', '{"a":1}', '{}');`
  : `select * from h.append_one('o'||(random()*50)::int, 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 'c', false);`;
writeFileSync('/tmp/pgb-perf.sql', script);
const bench = spawn('/usr/lib/postgresql/15/bin/pgbench', ['-n', '-M', 'prepared', '-c', '1', '-T', '12', '-f', '/tmp/pgb-perf.sql', server.url], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = ''; bench.stdout.on('data', (d) => (out += d));
await new Promise((r) => setTimeout(r, 3000));
const [row] = await sql`select pid from pg_stat_activity where application_name = 'pgbench'`;
execFileSync('perf', ['record', '-F', '2000', '-g', '-p', String(row!.pid), '-o', `/tmp/perf-${f}.data`, '--', 'sleep', '6'], { stdio: 'ignore' });
await new Promise((r) => bench.on('close', r));
console.log(/tps = ([\d.]+)/.exec(out)?.[1]);
await sql.end(); await server.stop();
