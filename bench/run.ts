/**
 * `npm run bench`: herald against raw PostgreSQL, Emmett and the job queues, in one run, on a throwaway server
 * (or `DATABASE_URL`). Prints a table; a full run rewrites the generated part of docs/benchmarks.md and
 * docs/benchmarks.svg.
 *
 *   npm run bench                      all scenarios, full sizes (several minutes)
 *   npm run bench -- --quick           small sizes, one round, < 1 minute; writes no docs (CI)
 *   npm run bench -- --only=catch-up   some scenarios (comma-separated names); add --out=DIR to write docs
 *   node --cpu-prof --import tsx bench/run.ts --only=catch-up   to profile one scenario
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/support/postgres.ts';
import { chartSvg } from './chart.ts';
import { connect, databaseFactory } from './db.ts';
import { describeEnvironment } from './env.ts';
import { consoleTable, markdown, spliceGenerated, type ScenarioOutcome } from './report.ts';
import { scenarios } from './scenarios/index.ts';
import { now, withTimeout } from './timing.ts';
import type { BenchContext } from './types.ts';

const INTRO = `# Benchmarks

\`npm run bench\` measures herald on a throwaway PostgreSQL server it starts itself (or \`DATABASE_URL\`), and
measures in the same run, on the same server, a baseline for every figure: raw postgres.js doing the same
work by hand, Emmett's PostgreSQL consumer, graphile-worker and pg-boss. Shared machines are noisy, so read
the ratios more than the absolute figures. \`npm run bench -- --quick\` runs everything with small sizes (CI
runs it so the bench cannot rot; it asserts nothing about timings).
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
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

  const server = await startPostgres();
  const databases = databaseFactory(server.url);
  const outcomes: ScenarioOutcome[] = [];
  try {
    const admin = connect(server.url, 1);
    const env = await describeEnvironment(admin, quick ? 'quick mode: small sizes, 1 round' : `full mode: ${rounds} rounds`, server.external);
    await admin.end({ timeout: 5 });
    console.error(`bench: ${env.postgres}, ${env.serverSettings}`);

    for (const scenario of selected) {
      const ctx: BenchContext = {
        quick,
        rounds,
        freshDatabase: (label) => databases.create(label),
        log: (message) => console.error(`  [${scenario.name}] ${message}`),
      };
      console.error(`bench: ${scenario.title}`);
      const t0 = now();
      try {
        const result = await withTimeout(scenario.run(ctx), quick ? 40_000 : scenario.timeoutMs, scenario.name);
        outcomes.push({ name: scenario.name, title: scenario.title, rows: result.rows, remarks: result.remarks, seconds: (now() - t0) / 1000 });
        console.error(`bench: ${scenario.title} took ${((now() - t0) / 1000).toFixed(1)} s`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(`bench: ${scenario.title} failed: ${error instanceof Error ? error.stack : message}`);
        outcomes.push({ name: scenario.name, title: scenario.title, rows: [], remarks: [], error: message, seconds: (now() - t0) / 1000 });
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
    await databases.close().catch(() => undefined);
    await server.stop();
  }
  const failed = outcomes.filter((o) => o.error !== undefined);
  console.error(`bench: ${selected.length - failed.length} of ${selected.length} scenarios ran in ${((now() - started) / 1000).toFixed(0)} s`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
