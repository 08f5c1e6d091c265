/**
 * `npm run bench`: herald against raw PostgreSQL, Emmett and the job queues, in one run, on a throwaway server
 * (or `DATABASE_URL`). Prints a table; a full run rewrites the generated part of docs/benchmarks.md and
 * docs/benchmarks.svg.
 *
 *   npm run bench                      all scenarios, full sizes (several minutes)
 *   npm run bench -- --quick           small sizes, one round, < 1 minute; writes no docs (CI)
 *   npm run bench -- --only=catch-up   some scenarios (comma-separated names); add --out=DIR to write docs
 *   npm run bench -- --durable         also runs append, live latency and catch-up (transactional) on a second,
 *                                      durable server (fsync, synchronous_commit, full_page_writes on), rows beside
 *   node --cpu-prof --import tsx bench/run.ts --only=catch-up   to profile one scenario
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chartSvg } from './chart.ts';
import { connect, databaseFactory } from './db.ts';
import { describeEnvironment } from './env.ts';
import { consoleTable, markdown, spliceGenerated, type ScenarioOutcome } from './report.ts';
import { scenarios } from './scenarios/index.ts';
import { startBenchServer } from './server.ts';
import type { BenchServer } from './server.ts';
import type { Scenario } from './types.ts';
import { now, withTimeout } from './timing.ts';
import type { BenchContext } from './types.ts';

const INTRO = `# Benchmarks

\`npm run bench\` measures herald on a throwaway PostgreSQL server it starts itself (or \`DATABASE_URL\`), and
measures in the same run, on the same server, a baseline for every figure: raw postgres.js doing the same
work by hand, Emmett's PostgreSQL consumer, graphile-worker and pg-boss. Shared machines are noisy, so read
the ratios more than the absolute figures. \`npm run bench -- --quick\` runs everything with small sizes (CI
runs it so the bench cannot rot; it asserts nothing about timings).
`;

/** Scenarios that `--durable` runs again on the durable server (commit-bound figures). */
const DURABLE_SCENARIOS = ['append', 'live-latency', 'catch-up'];
const DURABLE_SUFFIX = ' (durable server)';

/** Runs `selected` on `server`, each in fresh databases; `suffix` marks the scenario titles of its rows. */
async function runAll(server: BenchServer, selected: readonly Scenario[], mode: { quick: boolean; rounds: number }, suffix: string): Promise<ScenarioOutcome[]> {
  const databases = databaseFactory(server.url);
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const scenario of selected) {
      const title = `${scenario.title}${suffix}`;
      const ctx: BenchContext = {
        quick: mode.quick,
        rounds: mode.rounds,
        freshDatabase: (label) => databases.create(label),
        log: (message) => console.error(`  [${scenario.name}${suffix}] ${message}`),
      };
      console.error(`bench: ${title}`);
      const t0 = now();
      try {
        const result = await withTimeout(scenario.run(ctx), mode.quick ? 40_000 : scenario.timeoutMs, scenario.name);
        const rows = result.rows.map((row) => ({ ...row, scenario: `${row.scenario}${suffix}` }));
        outcomes.push({ name: `${scenario.name}${suffix}`, title, rows, remarks: result.remarks, seconds: (now() - t0) / 1000 });
        console.error(`bench: ${title} took ${((now() - t0) / 1000).toFixed(1)} s`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(`bench: ${title} failed: ${error instanceof Error ? error.stack : message}`);
        outcomes.push({ name: `${scenario.name}${suffix}`, title, rows: [], remarks: [], error: message, seconds: (now() - t0) / 1000 });
      }
    }
  } finally {
    await databases.close().catch(() => undefined);
  }
  return outcomes;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      durable: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick === true;
  const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = only?.filter((name) => !scenarios.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const rounds = values.rounds === undefined ? (quick ? 1 : 3) : Number(values.rounds);
  if (!Number.isSafeInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const outDir = values.out ?? (quick || only !== undefined ? undefined : 'docs');
  const selected = scenarios.filter((s) => only === undefined || only.includes(s.name));
  const started = now();

  const server = await startBenchServer(false);
  const outcomes: ScenarioOutcome[] = [];
  try {
    const admin = connect(server.url, 1);
    const env = await describeEnvironment(admin, quick ? 'quick mode: small sizes, 1 round' : `full mode: ${rounds} rounds`, server.external);
    await admin.end({ timeout: 5 });
    console.error(`bench: ${env.postgres}, ${env.serverSettings}`);
    outcomes.push(...(await runAll(server, selected, { quick, rounds }, '')));
    if (values.durable === true) {
      const durable = await startBenchServer(true);
      try {
        const durableAdmin = connect(durable.url, 1);
        env.durableServer = `${durable.origin}; ${(await describeEnvironment(durableAdmin, env.mode, durable.external)).serverSettings}`;
        await durableAdmin.end({ timeout: 5 });
        const again = selected.filter((s) => DURABLE_SCENARIOS.includes(s.name));
        outcomes.push(...(await runAll(durable, again, { quick, rounds }, DURABLE_SUFFIX)));
      } finally {
        await durable.stop();
      }
    }

    console.log(consoleTable(outcomes));
    if (outDir !== undefined) {
      mkdirSync(outDir, { recursive: true });
      const mdPath = join(outDir, 'benchmarks.md');
      let existing: string | undefined;
      try {
        existing = readFileSync(mdPath, 'utf8');
      } catch {
        existing = undefined;
      }
      writeFileSync(mdPath, spliceGenerated(existing, markdown(outcomes, env, 'benchmarks.svg'), INTRO));
      writeFileSync(join(outDir, 'benchmarks.svg'), chartSvg(outcomes.flatMap((o) => o.rows), `${env.date.slice(0, 10)}, ${env.mode}, ${env.cores} cores`));
      console.error(`bench: wrote ${mdPath} and ${join(outDir, 'benchmarks.svg')}`);
    }
  } finally {
    await server.stop();
  }
  const failed = outcomes.filter((o) => o.error !== undefined);
  console.error(`bench: ${outcomes.length - failed.length} of ${outcomes.length} scenario runs ran in ${((now() - started) / 1000).toFixed(0)} s`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
