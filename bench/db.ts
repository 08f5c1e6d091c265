/** The bench server's databases: one fresh database per scenario (or per round), dropped afterwards. */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { sleep } from './timing.ts';
import type { BenchDatabase } from './types.ts';

/** Opens a postgres.js pool that stays quiet about notices. */
export function connect(url: string, max = 10): Sql {
  return postgres(url, { max, onnotice: () => {} });
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Creates databases on the server behind `adminUrl`; `close()` drops any still left and disconnects. */
export function databaseFactory(adminUrl: string): { create(label: string): Promise<BenchDatabase>; close(): Promise<void> } {
  const admin = connect(adminUrl, 2);
  const live = new Set<string>();

  /**
   * Drops `name`, waiting up to 5 s for clients to leave before forcing them out: node-postgres pools (Emmett,
   * graphile-worker, pg-boss) that are still closing treat a terminated idle client as an unhandled error.
   */
  async function drop(name: string): Promise<void> {
    if (!live.delete(name)) return;
    for (let attempt = 0; attempt < 25; attempt++) {
      try {
        await admin`drop database if exists ${admin(name)}`;
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006') throw error;
        await sleep(200);
      }
    }
    await admin`drop database if exists ${admin(name)} with (force)`;
  }

  return {
    async create(label) {
      const name = `bench_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
      await admin`create database ${admin(name)}`;
      live.add(name);
      return { name, url: withDatabase(adminUrl, name), drop: () => drop(name) };
    },
    async close() {
      for (const name of [...live]) await drop(name).catch(() => undefined);
      await admin.end({ timeout: 5 });
    },
  };
}
