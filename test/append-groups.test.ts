/** Grouping concurrent PostgreSQL appends of one process into one call (no database: the call is a fake). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAppendGroups } from '../src/store/postgres/append-groups.ts';
import type { GroupedAppend } from '../src/store/postgres/append-groups.ts';
import type { NowAppendRow } from '../src/store/postgres/sql/events.ts';
import { deferred } from './support/wait.ts';

const args = (streamId: string): GroupedAppend => ({ streamId, expected: 'any', expectedVersion: 0, events: '[]' });
const row = (outcome: NowAppendRow['outcome'], first: number | null): NowAppendRow => ({
  outcome, version: first === null ? null : 1, duplicates: [], created_at: new Date(0), first_number: first,
});

describe('append groups', () => {
  it('sends a lone append at once, alone, and groups the appends that arrive while every call is busy', async () => {
    const calls: { streams: string[]; tryLocks: boolean }[] = [];
    const gate = deferred();
    let n = 0;
    const groups = createAppendGroups(async (appends, tryLocks) => {
      calls.push({ streams: appends.map((a) => a.streamId), tryLocks });
      if (calls.length === 1) await gate.promise;
      return appends.map(() => row('ok', ++n));
    }, 1, 10);
    const first = groups.append(args('a'));
    const later = [groups.append(args('z')), groups.append(args('b')), groups.append(args('z'))];
    assert.equal(groups.pending, 4);
    gate.resolve();
    await first;
    const rows = await Promise.all(later);
    // Sorted by stream, stably: the two appends to `z` keep their order.
    assert.deepEqual(calls, [{ streams: ['a'], tryLocks: false }, { streams: ['b', 'z', 'z'], tryLocks: true }]);
    assert.deepEqual(rows.map((r) => r.first_number), [3, 2, 4]);
    assert.equal(groups.pending, 0);
  });

  it('sends a busy append again alone, and every append of a failed group alone, failing only the bad one', async () => {
    const calls: string[][] = [];
    const gate = deferred();
    const groups = createAppendGroups(async (appends) => {
      calls.push(appends.map((a) => a.streamId));
      if (calls.length === 1) await gate.promise;
      if (appends.length > 1 && appends.some((a) => a.streamId === 'bad')) throw new Error('group failed');
      if (appends.length === 1 && appends[0]?.streamId === 'bad') throw new Error('bad append');
      return appends.map((a) => (appends.length > 1 && a.streamId === 'held' ? row('busy', null) : row('ok', 1)));
    }, 1, 10);
    const first = groups.append(args('first'));
    const held = groups.append(args('held'));
    const free = groups.append(args('free'));
    gate.resolve();
    await first;
    assert.equal((await held).outcome, 'ok');
    assert.equal((await free).outcome, 'ok');
    assert.deepEqual(calls.slice(1), [['free', 'held'], ['held']]);

    const blocker = deferred();
    calls.length = 0;
    const groups2 = createAppendGroups(async (appends) => {
      calls.push(appends.map((a) => a.streamId));
      if (calls.length === 1) await blocker.promise;
      if (appends.some((a) => a.streamId === 'bad')) throw new Error(appends.length > 1 ? 'group failed' : 'bad append');
      return appends.map(() => row('ok', 1));
    }, 1, 10);
    const lead = groups2.append(args('lead'));
    const good = groups2.append(args('good'));
    const bad = groups2.append(args('bad'));
    blocker.resolve();
    await lead;
    assert.equal((await good).outcome, 'ok');
    await assert.rejects(bad, /bad append/);
  });
});
