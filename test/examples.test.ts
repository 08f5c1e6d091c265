import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs an example as its own process, the way a reader would (`node --import tsx examples/x.ts`). */
function runExample(file: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `examples/${file}`, ...args],
      // The bound only keeps a hung example from hanging the suite; no test asserts a duration.
      { cwd: root, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const examples: readonly [file: string, expected: readonly RegExp[]][] = [
  ['demo.ts', [/strong dispatch returned; read model says order-1 = 30/, /stopped cleanly/]],
  ['handlers.ts', [/Audit:acme: Deposited v2/, /duplicates \["msg-1"\]/, /reset replayed Counter from the origin/, /restarted app resumed after event 4/]],
  ['error-handling.ts', [/context \{"firstError":"SMTP down \(1\)"\}/, /HANDLER_TIMEOUT after 50 ms/, /replayDeadLetter: handled/]],
  ['partitioning.ts', [/per-key order kept: true/, /dead letters: #1 acct-poison/, /round-robin workers: 012012/]],
  ['supervisors.ts', [/restart: projections restarted Totals/, /Importer stopped, restarts 0/, /app.done rejected: SUPERVISOR_GAVE_UP, cause: poison event/]],
  ['consistency.ts', [/strong: balance acct-1 = 50/, /handlers behind: Ledger/, /unknown handlers: "Ghost"/]],
  ['scaling.ts', [/split: process-a owns 0,1,2,3, process-b owns 4,5,6,7/, /after process-a stopped, process-b owns 8 slots/, /every event handled exactly once: true/]],
  ['batch-handlers.ts', [/Totals: batch of 100 \(size\)/, /Totals: total = 1136/, /failure\.events: 4/, /per-key order kept: true, keys: 4/, /dead letters for events 5,6,7,8/]],
  ['typed-events.ts', [/Revenue: #1 OrderPlaced 0 10 EUR/, /rejected: INVALID_EVENT, issues \[\[\["total"\]/, /revenue: \{"EUR":40,"USD":5\}/, /Revenue cursor 5, lag 0/]],
  ['otel.ts', [/handled OrderPaid; its metadata carries traceparent 00-[0-9a-f]{32}-[0-9a-f]{16}-01/, /name: 'herald dispatch order-1'/, /kind: 4/, /name: 'herald\.handle\.failures'/, /stopped cleanly/]],
  ['telemetry.ts', [/handle:exception Projector attempt 1 -> retry/, /herald:handle:stop: 2 events handled/]],
];

describe('the demo on PostgreSQL (npm start -- --postgres)', () => {
  it('runs on an embedded PostgreSQL, and a second run resumes every handler after the first run\'s events', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'herald-demo-'));
    try {
      const env = { HERALD_DEMO_DIR: dataDir, DATABASE_URL: '' };
      const first = await runExample('demo.ts', ['--postgres'], env);
      assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}`);
      assert.match(first.stdout, /strong dispatch returned; read model says order-1 = 30/);
      assert.match(first.stdout, /OrderTotals: live, cursor 3/);
      assert.doesNotMatch(first.stdout, /resumed from saved cursors/);
      const second = await runExample('demo.ts', ['--postgres'], env);
      assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
      assert.match(second.stdout, /resumed from saved cursors: every handler continues after event 3/);
      assert.match(second.stdout, /OrderTotals: live, cursor 6/);
      assert.match(second.stdout, /Invoices skipped event 6/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('examples', () => {
  for (const [file, expected] of examples) {
    it(`${file} runs to completion and prints what it demonstrates`, async () => {
      const { code, stdout, stderr } = await runExample(file);
      assert.equal(code, 0, `${file} exited with ${String(code)}\n${stdout}\n${stderr}`);
      for (const pattern of expected) assert.match(stdout, pattern, `${file} output lacks ${String(pattern)}`);
    });
  }
});
