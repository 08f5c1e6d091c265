import postgres from 'postgres';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { postgresStore } from '/work/wt-writepath/src/store/postgres/index.ts';
import { startPostgres } from '/work/wt-writepath/test/support/postgres.ts';
const server = await startPostgres();
const sql = postgres(server.url, { max: 10, onnotice: () => {} });
const store = postgresStore({ sql, schema: 'h' });
await store.migrate();
await sql.unsafe(`create table h.raw (like h.events including all)`);
await sql.unsafe(`listen c`);
const def = (await sql`select pg_get_functiondef('h.append_one'::regproc) as d`)[0]!.d as string;
const variant = (name: string, f: (d: string) => string) => sql.unsafe(f(def.replace('h.append_one(', `h.${name}(`)));
await variant('v_nonotify', (d) => d.replace("PERFORM pg_notify(p_channel, 'a');", ''));
await variant('v_nolock', (d) => d.replace(/PERFORM pg_advisory_xact_lock[^;]*;/, ''));
await variant('v_noexists', (d) => d.replace(/IF EXISTS \(SELECT 1 FROM batches[\s\S]*?END IF;\n/, ''));
await variant('v_noset', (d) => d.replace(/ SET search_path[^\n]*\n/, '\n'));
await variant('v_nonumber', (d) => d.replace(/  WITH head AS[\s\S]*?INTO first_number;/, ''));
for (const v of ['v_nonotify','v_nolock','v_noexists','v_noset','v_nonumber']) { const d2 = (await sql`select pg_get_functiondef(${'h.' + v}::regproc) as d`)[0]!.d as string; console.log(v, d2.length, def.length); }
const scripts: Record<string, string> = {
  raw: `insert into h.raw (stream_id, stream_version, event_id, type, data, metadata) values ('s'||:client_id||'-'||random(), 1, md5(random()::text), 'T', '{"a":1}', '{}');`,
  append_one: `select * from h.append_one('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
  v_nonotify: `select * from h.v_nonotify('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
  v_nolock: `select * from h.v_nolock('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
  v_noexists: `select * from h.v_noexists('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
  v_noset: `select * from h.v_noset('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
  v_nonumber: `select * from h.v_nonumber('o'||random(), 'any', 0, jsonb_build_array(jsonb_build_object('id',md5(random()::text),'type','T','data','{"a":1}'::jsonb,'metadata','{}'::jsonb)), 1000, 'c');`,
};
const url = new URL(server.url);
for (const c of (process.env.C ?? '1,8').split(',')) for (let r = 0; r < 2; r++) for (const [name, s] of Object.entries(scripts)) {
  writeFileSync(`/tmp/pgb-${name}.sql`, s);
  const out = execFileSync('/usr/lib/postgresql/15/bin/pgbench', ['-n', '-M', 'prepared', '-c', c, '-j', '1', '-T', process.env.T ?? '3', '-f', `/tmp/pgb-${name}.sql`, server.url], { encoding: 'utf8' });
  console.log(c, name, /tps = ([\d.]+)/.exec(out)?.[1]);
}
await sql.end(); await server.stop();
