import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createApp,
  defineHandler,
  HandlerConfigError,
  inMemoryStore,
  type App,
  type EventStore,
  type RecordedEvent,
  type SlotsPayload,
} from '../src/index.ts';
import { waitFor } from './support/wait.ts';

/**
 * Several apps on one in-memory store stand for several processes on one database: they share slots, leases and
 * cursors through the store exactly as processes do through PostgreSQL (test/postgres-cluster covers real processes).
 */
const fastLeases = { leaseMs: 400, heartbeatMs: 50 };
const keyOf = (event: RecordedEvent) => (event.data as { key: string }).key;
const seqOf = (event: RecordedEvent) => (event.data as { seq: number }).seq;

interface Handled {
  readonly node: string;
  readonly key: string;
  readonly seq: number;
  readonly eventNumber: number;
}

function partitionedHandler(log: Handled[], node: string, slots = 16) {
  return defineHandler({
    name: 'Shared',
    concurrency: 4,
    slots,
    partitionBy: keyOf,
    async handle(event) {
      await new Promise((resolve) => setImmediate(resolve));
      log.push({ node, key: keyOf(event), seq: seqOf(event), eventNumber: event.eventNumber });
    },
  });
}

async function dispatchKeyed(app: App, keys: number, perKey: number, from = 1): Promise<void> {
  for (let seq = from; seq < from + perKey; seq++) {
    await app.dispatch(`batch-${seq}`, Array.from({ length: keys }, (_, k) => ({ type: 'Keyed', data: { key: `k${k}`, seq } })));
  }
}

function assertOrderPerKey(log: readonly Handled[]): void {
  const last = new Map<string, number>();
  for (const entry of log) {
    assert.ok((last.get(entry.key) ?? 0) < entry.seq, `key ${entry.key}: seq ${entry.seq} after ${last.get(entry.key)}`);
    last.set(entry.key, entry.seq);
  }
}

function ownedBy(app: App, handler = 'Shared'): readonly number[] {
  return app.status().find((status) => status.name === handler)?.slots.owned ?? [];
}

async function startNode(store: EventStore, label: string, children: Parameters<App['start']>[0]): Promise<App> {
  const app = createApp({ store, node: { label, ...fastLeases }, flushEvery: 10, flushAfterMs: 20 });
  await app.start(children);
  return app;
}

describe('several apps on one store (cluster)', () => {
  it('splits a partitioned handler\'s slots between two apps, handles every event once, and keeps per-key order', async () => {
    const store = inMemoryStore();
    const log: Handled[] = [];
    const a = await startNode(store, 'a', [partitionedHandler(log, 'a')]);
    const b = await startNode(store, 'b', [partitionedHandler(log, 'b')]);
    await waitFor(() => ownedBy(a).length === 8 && ownedBy(b).length === 8, 'an even split of 16 slots');
    assert.deepEqual([...ownedBy(a), ...ownedBy(b)].sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i));

    await dispatchKeyed(a, 20, 25);
    await waitFor(() => log.length >= 500, 'every event handled');
    await a.stop();
    await b.stop();
    assert.equal(log.length, 500);
    assert.equal(new Set(log.map((entry) => entry.eventNumber)).size, 500);
    assertOrderPerKey(log);
    assert.ok(log.some((entry) => entry.node === 'a') && log.some((entry) => entry.node === 'b'), 'both apps handled events');
    for (const key of new Set(log.map((entry) => entry.key))) {
      assert.equal(new Set(log.filter((entry) => entry.key === key).map((entry) => entry.node)).size, 1, `key ${key} on one node`);
    }
  });

  it('hands slots over at once when an app stops, and the other resumes each where it was acknowledged', async () => {
    const store = inMemoryStore();
    const log: Handled[] = [];
    const a = await startNode(store, 'a', [partitionedHandler(log, 'a', 8)]);
    const b = await startNode(store, 'b', [partitionedHandler(log, 'b', 8)]);
    await waitFor(() => ownedBy(a).length === 4 && ownedBy(b).length === 4, 'an even split');
    await dispatchKeyed(a, 10, 10);
    await waitFor(() => log.length >= 100, 'first events handled');

    const released: SlotsPayload[] = [];
    a.on('slots:release', (payload) => released.push(payload));
    await a.stop();
    assert.deepEqual(released.map((payload) => payload.slots.length), [4]);
    await waitFor(() => ownedBy(b).length === 8, 'b owning every slot');
    await dispatchKeyed(b, 10, 10, 11);
    await waitFor(() => log.length >= 200, 'later events handled');
    await b.stop();
    assert.equal(log.length, 200, 'no event handled twice after the handover');
    assertOrderPerKey(log);
    assert.ok(log.filter((entry) => entry.seq > 10).every((entry) => entry.node === 'b'));
  });

  it('runs a handler without partitionBy in one app at a time: the other stands by and takes over when it stops', async () => {
    const store = inMemoryStore();
    const seen: { node: string; n: number }[] = [];
    const single = (node: string) => defineHandler({ name: 'Single', handle: (event) => void seen.push({ node, n: event.eventNumber }) });
    const a = await startNode(store, 'a', [single('a')]);
    const b = await startNode(store, 'b', [single('b')]);
    await waitFor(() => b.status()[0]?.state === 'standby', 'b standing by');
    assert.equal(a.status()[0]?.state, 'live');
    assert.deepEqual(a.status()[0]?.slots.owned, [0]);
    assert.deepEqual(b.status()[0]?.slots.members.map((member) => [member.label, member.slots]), [['a', [0]], ['b', []]]);

    await a.dispatch('s', [{ type: 'One', data: null }, { type: 'Two', data: null }]);
    await waitFor(() => seen.length === 2, 'a handling');
    await a.stop();
    await waitFor(() => b.status()[0]?.state === 'live', 'b taking over');
    await b.dispatch('s', { type: 'Three', data: null });
    await waitFor(() => seen.length === 3, 'b handling');
    await b.stop();
    assert.deepEqual(seen, [{ node: 'a', n: 1 }, { node: 'a', n: 2 }, { node: 'b', n: 3 }]);
  });

  it('leaves a single slot with the app that holds it when an older app joins (sticky), until the holder stops', async () => {
    const store = inMemoryStore();
    const seen: { node: string; n: number }[] = [];
    const single = (node: string) => defineHandler({ name: 'Single', handle: (event) => void seen.push({ node, n: event.eventNumber }) });
    // The older node (lower id) is created first but started last: before, it took the slot from the holder.
    const older = createApp({ store, node: { label: 'older', ...fastLeases }, flushEvery: 1 });
    const holder = await startNode(store, 'holder', [single('holder')]);
    await waitFor(() => holder.status()[0]?.state === 'live', 'the holder live');
    const moves: SlotsPayload[] = [];
    holder.on('slots:release', (payload) => moves.push(payload));
    older.on('slots:acquire', (payload) => moves.push(payload));
    try {
      await older.start([single('older')]);
      await waitFor(() => older.status()[0]?.state === 'standby', 'the older app standing by');
      // Several heartbeats later, nothing moved.
      for (let beat = 0; beat < 5; beat++) await new Promise((resolve) => setTimeout(resolve, fastLeases.heartbeatMs));
      assert.deepEqual(holder.status()[0]?.slots.owned, [0]);
      assert.deepEqual(moves, []);
      await holder.dispatch('s', { type: 'One', data: null });
      await waitFor(() => seen.length === 1, 'the holder handling');
      await holder.stop();
      await waitFor(() => older.status()[0]?.state === 'live', 'the older app taking over once the holder stopped');
      await older.dispatch('s', { type: 'Two', data: null });
      await waitFor(() => seen.length === 2, 'the older app handling');
      assert.deepEqual(seen, [{ node: 'holder', n: 1 }, { node: 'older', n: 2 }]);
    } finally {
      await holder.stop();
      await older.stop();
    }
  });

  it('keeps the slots a node holds when another joins, moving only what balancing within one needs', async () => {
    const store = inMemoryStore();
    const log: Handled[] = [];
    const older = createApp({ store, node: { label: 'older', ...fastLeases }, flushEvery: 10, flushAfterMs: 20 });
    const holder = await startNode(store, 'holder', [partitionedHandler(log, 'holder', 5)]);
    await waitFor(() => ownedBy(holder).length === 5, 'the holder owning all 5 slots');
    try {
      await older.start([partitionedHandler(log, 'older', 5)]);
      await waitFor(() => ownedBy(holder).length + ownedBy(older).length === 5 && ownedBy(older).length > 0, 'the slots split');
      for (let beat = 0; beat < 5; beat++) await new Promise((resolve) => setTimeout(resolve, fastLeases.heartbeatMs));
      assert.equal(ownedBy(holder).length, 3, 'the holder keeps the extra slot of the uneven split');
      assert.equal(ownedBy(older).length, 2);
    } finally {
      await older.stop();
      await holder.stop();
    }
  });

  it('takes over the slots of a node that stopped renewing once its lease expires, and says so in telemetry', async () => {
    const store = inMemoryStore();
    await store.registerHandler({ name: 'Single', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
    const dead = { id: '0-dead', label: 'dead' };
    await store.heartbeat('Single', dead, 300);
    assert.equal((await store.claimSlots('Single', dead, [0], 300)).length, 1);
    await store.append({ streamId: 's', events: [{ eventId: 'e1', type: 'One', data: {}, metadata: {} }], expectedVersion: 'any' });

    const seen: number[] = [];
    const app = createApp({ store, node: { label: 'survivor', ...fastLeases } });
    const takeovers: SlotsPayload[] = [];
    app.on('slots:takeover', (payload) => takeovers.push(payload));
    await app.start([defineHandler({ name: 'Single', handle: (event) => void seen.push(event.eventNumber) })]);
    await waitFor(() => seen.length === 1, 'the event handled after the takeover');
    await app.stop();
    assert.deepEqual(takeovers.map((payload) => [payload.slots, payload.from, payload.nodeLabel]), [[[0], '0-dead', 'survivor']]);
  });

  it('stops handling a slot another node claimed (lost lease) and claims it back once free, handling nothing twice', async () => {
    const store = inMemoryStore();
    const seen: number[] = [];
    const app = createApp({ store, node: { label: 'a', ...fastLeases }, flushEvery: 1, flushAfterMs: 0 });
    const lost: SlotsPayload[] = [];
    app.on('slots:lost', (payload) => lost.push(payload));
    await app.start([defineHandler({ name: 'Single', handle: (event) => void seen.push(event.eventNumber) })]);
    await waitFor(() => app.status()[0]?.state === 'live', 'live');
    await app.dispatch('s', { type: 'One', data: null });
    await waitFor(() => seen.length === 1 && app.status()[0]?.cursor === 1, 'first event acknowledged');

    // An operator's reset elsewhere ends every lease (what another node's takeover looks like from here).
    const intruder = { id: '~intruder', label: 'intruder' };
    await store.releaseSlots('Single', app.status()[0]?.node.id as string, [0]);
    assert.equal((await store.claimSlots('Single', intruder, [0], 60_000)).length, 1);
    await waitFor(() => lost.length === 1, 'the slot reported lost');
    await waitFor(() => app.status()[0]?.state === 'standby', 'standing by without the slot');
    await store.releaseSlots('Single', intruder.id, [0]);
    await waitFor(() => app.status()[0]?.slots.owned.length === 1, 'slot claimed back');
    await app.dispatch('s', { type: 'Two', data: null });
    await waitFor(() => seen.length === 2, 'second event handled');
    await app.stop();
    assert.deepEqual(seen, [1, 2]);
  });

  it('lets a strong dispatch wait for a handler whose slots two apps share', async () => {
    const store = inMemoryStore();
    const handled = new Set<number>();
    const strong = () =>
      defineHandler({ name: 'Strong', consistency: 'strong', slots: 4, partitionBy: (event) => event.streamId, handle: (event) => void handled.add(event.eventNumber) });
    const a = await startNode(store, 'a', [strong()]);
    const b = await startNode(store, 'b', [strong()]);
    await waitFor(() => ownedBy(a, 'Strong').length === 2 && ownedBy(b, 'Strong').length === 2, 'split');
    for (let i = 0; i < 20; i++) {
      const result = await a.dispatch(`stream-${i}`, { type: 'E', data: null }, { consistency: 'strong', timeoutMs: 10_000 });
      assert.ok(handled.has(result.lastEventNumber), `event ${result.lastEventNumber} handled before dispatch returned`);
    }
    await a.stop();
    await b.stop();
  });

  it('rejects bad node options and slots without partitionBy with HandlerConfigError naming the field', () => {
    const cases: [unknown, string][] = [
      [{ node: { leaseMs: 50 } }, 'node.leaseMs'],
      [{ node: { leaseMs: 1000, heartbeatMs: 600 } }, 'node.heartbeatMs'],
      [{ node: { label: '' } }, 'node.label'],
      [{ node: { lease: 1 } }, 'node.lease'],
      [{ node: 'a' }, 'node'],
    ];
    for (const [options, field] of cases) {
      assert.throws(() => createApp(options as Parameters<typeof createApp>[0]), (error: unknown) => error instanceof HandlerConfigError && error.field === field);
    }
    assert.throws(() => defineHandler({ name: 'X', slots: 8, handle() {} }), (error: unknown) => error instanceof HandlerConfigError && error.field === 'slots');
    assert.throws(() => defineHandler({ name: 'X', slots: 0, partitionBy: () => 'k', handle() {} }), (error: unknown) => error instanceof HandlerConfigError && error.field === 'slots');
  });

  it('refuses to change a handler\'s slot count while another app runs it, and re-slices once it stopped', async () => {
    const store = inMemoryStore();
    const log: Handled[] = [];
    const a = await startNode(store, 'a', [partitionedHandler(log, 'a', 8)]);
    await waitFor(() => ownedBy(a).length === 8, 'a owning every slot');
    await dispatchKeyed(a, 5, 4);
    await waitFor(() => log.length === 20, 'handled');

    const b = createApp({ store, node: { label: 'b', ...fastLeases } });
    await assert.rejects(b.start([partitionedHandler(log, 'b', 16)], { maxRestarts: 0 }), (error: unknown) => {
      const cause = error instanceof Error ? error.cause : undefined;
      return cause instanceof HandlerConfigError && cause.field === 'slots' && /runs with 8 slots on node a/.test(cause.message);
    });
    await b.stop();
    await a.stop();

    const c = await startNode(store, 'c', [partitionedHandler(log, 'c', 16)]);
    await waitFor(() => ownedBy(c).length === 16, 'c owning the 16 new slots');
    await dispatchKeyed(c, 5, 1, 5);
    await waitFor(() => log.length === 25, 'the new event handled');
    await c.stop();
    assert.equal((await store.loadHandler('Shared'))?.slots, 16);
    assertOrderPerKey(log);
  });
});
