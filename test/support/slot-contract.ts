/**
 * The slots, leases and membership contract every `EventStore` passes (in-memory and PostgreSQL). Each store's test
 * file gives `advance(ms)`: time passing on the store's clock (a manual clock for the in-memory store, a real wait
 * for PostgreSQL, whose leases follow the database's clock). Leases that must hold are long (a minute), leases that
 * must run out are short and followed by an `advance` well past them, so a slow machine can only make a test wait
 * longer, never change its outcome.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { HandlerConfigError, LeaseLostError, StoreError } from '../../src/errors.ts';
import type { EventStore, HandlerRegistration, NodeIdentity, SlotClaim } from '../../src/store/types.ts';
import { MAX_SLOTS } from '../../src/store/validate.ts';
import type { StoreUnderTest } from './store-contract.ts';
import { waitFor } from './wait.ts';

/** A store under test with a way to let time pass on its clock. */
export interface SlotStoreUnderTest extends StoreUnderTest {
  readonly advance: (ms: number) => Promise<void>;
}

const A: NodeIdentity = { id: '01A-node', label: 'host-a:101' };
const B: NodeIdentity = { id: '01B-node', label: 'host-b:202' };
const C: NodeIdentity = { id: '01C-node', label: 'host-c:303' };
/** A lease no test outlives. */
const LONG = 60_000;
/** A lease a test lets run out with `advance(PAST_SHORT)`. */
const SHORT = 200;
const PAST_SHORT = 350;

const slotsOf = (claims: readonly SlotClaim[]): number[] => claims.map((claim) => claim.slot);

/** Registers `label + ' slot contract'`: the tests of slots, leases and members every store must pass. */
export function slotContract(label: string, makeStore: () => Promise<SlotStoreUnderTest>): void {
  async function open(t: TestContext, slots?: number, startFrom: HandlerRegistration['startFrom'] = 'origin') {
    const { store, cleanup, advance } = await makeStore();
    t.after(cleanup);
    await store.migrate();
    const registration: HandlerRegistration = { name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom, slots };
    await store.registerHandler(registration);
    return { store, advance, registration };
  }

  /** Owners per slot as a heartbeat of `node` reports them. */
  async function owners(store: EventStore, node: NodeIdentity = C): Promise<(string | undefined)[]> {
    return [...(await store.heartbeat('P', node, LONG)).owners];
  }

  /** The cursors of `slots` as a fresh claim by `node` finds them (claims them). */
  async function cursorsVia(store: EventStore, node: NodeIdentity, slots: number[]) {
    return (await store.claimSlots('P', node, slots, LONG)).map((claim) => claim.cursor);
  }

  describe(`${label} slot contract`, () => {
    describe('registration with slots', () => {
      it('creates every slot at the start position with no owner, one slot by default', async (t) => {
        const { store } = await open(t);
        assert.equal((await store.loadHandler('P'))?.slots, 1);
        const record = await store.registerHandler({ name: 'Q', subscribeTo: '$all', consistency: 'eventual', startFrom: 7, slots: 4 });
        assert.deepEqual([record.slots, record.cursor, record.initialPosition], [4, { position: 7, acked: [] }, 7]);
        const membership = await store.heartbeat('Q', A, LONG);
        assert.deepEqual(membership.owners, [undefined, undefined, undefined, undefined]);
        const claims = await store.claimSlots('Q', A, [0, 1, 2, 3], LONG);
        assert.deepEqual(
          claims.map(({ slot, epoch, cursor, takenFrom }) => ({ slot, epoch, cursor, takenFrom })),
          [0, 1, 2, 3].map((slot) => ({ slot, epoch: 1, cursor: { position: 7, acked: [] }, takenFrom: undefined })),
        );
      });

      it('never moves a slot cursor backwards: an older save is not written, and the slot still counts as held', async (t) => {
        const { store } = await open(t, 1);
        const [zero] = (await store.claimSlots('P', A, [0], LONG)) as [SlotClaim];
        const save = (position: number, acked: number[]) =>
          store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: zero.epoch, cursor: { position, acked } }]);
        await save(5, [7, 8]);
        await save(4, [5, 7, 8]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [7, 8] }, 'a lower position');
        await save(5, [7]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [7, 8] }, 'an acknowledgement dropped');
        await save(5, [7, 8, 9]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [7, 8, 9] });
        await save(9, []);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 9, acked: [] });
      });

      it('keeps every slot cursor and lease when registered again with the same count', async (t) => {
        const { store, registration } = await open(t, 2);
        const claims = await store.claimSlots('P', A, [0, 1], LONG);
        const [zero, one] = claims as [SlotClaim, SlotClaim];
        await store.saveSlotCursors('P', A.id, [
          { slot: 0, epoch: zero.epoch, cursor: { position: 5, acked: [7] } },
          { slot: 1, epoch: one.epoch, cursor: { position: 3, acked: [] } },
        ]);
        const again = await store.registerHandler({ ...registration, consistency: 'strong' });
        assert.deepEqual([again.slots, again.consistency, again.cursor], [2, 'strong', { position: 3, acked: [7] }]);
        assert.deepEqual(await owners(store), [A.id, A.id]);
        await store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: one.epoch, cursor: { position: 4, acked: [] } }]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 4, acked: [7] });
      });

      it('re-slices a new count from the lowest position, with every number acknowledged above it, past the old epochs', async (t) => {
        const { store, registration } = await open(t, 2);
        const [zero, one] = (await store.claimSlots('P', A, [0, 1], LONG)) as [SlotClaim, SlotClaim];
        await store.saveSlotCursors('P', A.id, [
          { slot: 0, epoch: zero.epoch, cursor: { position: 5, acked: [7, 9] } },
          { slot: 1, epoch: one.epoch, cursor: { position: 3, acked: [6, 8] } },
        ]);
        await store.releaseSlots('P', A.id, [0, 1]);
        const record = await store.registerHandler({ ...registration, slots: 3 });
        assert.deepEqual([record.slots, record.cursor], [3, { position: 3, acked: [6, 7, 8, 9] }]);
        assert.deepEqual((await store.loadHandler('P'))?.slots, 3);
        const claims = await store.claimSlots('P', B, [0, 1, 2], LONG);
        assert.deepEqual(slotsOf(claims), [0, 1, 2]);
        for (const claim of claims) {
          assert.deepEqual(claim.cursor, { position: 3, acked: [6, 7, 8, 9] });
          assert.ok(claim.epoch > zero.epoch && claim.epoch > one.epoch + 1, 'epochs move past the old ones');
        }
        await assert.rejects(store.registerHandler({ ...registration, slots: 1 }), HandlerConfigError, 'B holds the slots');
        await store.releaseSlots('P', B.id, [0, 1, 2]);
        assert.equal((await store.registerHandler({ ...registration, slots: 1 })).slots, 1);
      });

      it('refuses to re-slice while another node holds a live lease, naming it, and changes nothing', async (t) => {
        const { store, registration } = await open(t, 2);
        const [claim] = (await store.claimSlots('P', A, [1], LONG)) as [SlotClaim];
        await assert.rejects(store.registerHandler({ ...registration, slots: 3, consistency: 'strong' }), (error: unknown) => {
          assert.ok(error instanceof HandlerConfigError);
          assert.equal(error.field, 'slots');
          assert.match(error.message, new RegExp(A.label));
          return true;
        });
        const record = await store.loadHandler('P');
        assert.deepEqual([record?.slots, record?.consistency], [2, 'eventual']);
        await store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: claim.epoch, cursor: { position: 2, acked: [] } }]);
      });

      it('re-slices once the last lease has run out', async (t) => {
        const { store, advance, registration } = await open(t, 2);
        await store.claimSlots('P', A, [0], SHORT);
        await advance(PAST_SHORT);
        assert.equal((await store.registerHandler({ ...registration, slots: 4 })).slots, 4);
        assert.deepEqual(await owners(store), [undefined, undefined, undefined, undefined]);
      });

      it('combines the slots into the handler cursor: the lowest position and every number acknowledged above it', async (t) => {
        const { store } = await open(t, 3);
        const claims = await store.claimSlots('P', A, [0, 1, 2], LONG);
        const positions = [
          { position: 10, acked: [12] },
          { position: 4, acked: [6, 7] },
          { position: 8, acked: [12, 15] },
        ];
        await store.saveSlotCursors('P', A.id, claims.map((claim, slot) => ({ slot, epoch: claim.epoch, cursor: positions[slot]! })));
        const expected = { position: 4, acked: [6, 7, 12, 15] };
        assert.deepEqual((await store.loadHandler('P'))?.cursor, expected);
        assert.deepEqual((await store.listHandlers()).map((record) => [record.name, record.slots, record.cursor]), [['P', 3, expected]]);
      });

      it('rejects a slot count that is not an integer from 1 to MAX_SLOTS', async (t) => {
        const { store, registration } = await open(t);
        for (const slots of [0, -1, 1.5, MAX_SLOTS + 1, '2']) {
          // @ts-expect-error: deliberately invalid input
          await assert.rejects(store.registerHandler({ ...registration, name: 'Bad', slots }), (error: unknown) => {
            return error instanceof HandlerConfigError && error.field === 'slots';
          });
        }
        assert.equal(await store.loadHandler('Bad'), undefined);
      });
    });

    describe('saveCursor and resetCursor', () => {
      it('saveCursor gives every slot the same cursor, whoever holds it, and leaves the leases alone', async (t) => {
        const { store } = await open(t, 3);
        const [held] = (await store.claimSlots('P', A, [1], LONG)) as [SlotClaim];
        await store.saveCursor('P', { position: 5, acked: [7] });
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [7] });
        assert.deepEqual(await cursorsVia(store, B, [0, 2]), [{ position: 5, acked: [7] }, { position: 5, acked: [7] }]);
        await store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: held.epoch, cursor: { position: 6, acked: [7] } }]);
      });

      it('resetCursor puts every slot back, ends every lease, fences the old epochs and tells membership listeners', async (t) => {
        const { store } = await open(t, 2, 2);
        const seen: string[] = [];
        const off = store.onMembershipChanged((name) => seen.push(name));
        t.after(off);
        const claims = await store.claimSlots('P', A, [0, 1], LONG);
        const cursors = claims.map((claim) => ({ slot: claim.slot, epoch: claim.epoch, cursor: { position: 9, acked: [11] } }));
        await store.saveSlotCursors('P', A.id, cursors);
        const reset = await store.resetCursor('P');
        assert.deepEqual([reset.slots, reset.cursor], [2, { position: 2, acked: [] }]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 2, acked: [] });
        await waitFor(() => seen.includes('P'), 'the membership notification of the reset');
        assert.deepEqual(await owners(store, B), [undefined, undefined]);
        await assert.rejects(store.saveSlotCursors('P', A.id, cursors), (error: unknown) => {
          return error instanceof LeaseLostError && error.code === 'LEASE_LOST' && error.handlerName === 'P' && error.slots.join() === '0,1';
        });
        const again = await store.claimSlots('P', B, [0, 1], LONG);
        for (const claim of again) assert.ok(claim.epoch > (claims[claim.slot] as SlotClaim).epoch + 1);
      });
    });

    describe('heartbeat', () => {
      it('makes the node a member and reports members sorted by id and the owner of every slot', async (t) => {
        const { store } = await open(t, 3);
        assert.deepEqual(await store.heartbeat('P', B, LONG), { members: [B], owners: [undefined, undefined, undefined] });
        assert.deepEqual((await store.heartbeat('P', A, LONG)).members, [A, B]);
        await store.claimSlots('P', B, [2], LONG);
        await store.claimSlots('P', A, [0], LONG);
        assert.deepEqual(await store.heartbeat('P', A, LONG), { members: [A, B], owners: [A.id, undefined, B.id] });
        const relabelled = { id: A.id, label: 'renamed' };
        assert.deepEqual((await store.heartbeat('P', relabelled, LONG)).members, [relabelled, B]);
      });

      it('drops members whose heartbeat ran out', async (t) => {
        const { store, advance } = await open(t);
        await store.heartbeat('P', A, SHORT);
        await store.heartbeat('P', B, LONG);
        await advance(PAST_SHORT);
        assert.deepEqual((await store.heartbeat('P', B, LONG)).members, [B]);
      });

      it("renews the node's leases, so another node cannot take them", async (t) => {
        const { store, advance } = await open(t, 2);
        await store.claimSlots('P', A, [0], SHORT);
        assert.deepEqual((await store.heartbeat('P', A, LONG)).owners, [A.id, undefined]);
        await advance(PAST_SHORT);
        assert.deepEqual(slotsOf(await store.claimSlots('P', B, [0, 1], LONG)), [1]);
        assert.deepEqual(await owners(store), [A.id, B.id]);
      });

      it('reports a slot whose lease ran out as owned by nobody', async (t) => {
        const { store, advance } = await open(t);
        await store.claimSlots('P', A, [0], SHORT);
        await advance(PAST_SHORT);
        assert.deepEqual(await owners(store, B), [undefined]);
      });

      it('tells membership listeners when a node joins, not when it renews', async (t) => {
        const { store } = await open(t);
        await store.registerHandler({ name: 'Other', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
        const seen: string[] = [];
        const off = store.onMembershipChanged((name) => seen.push(name));
        t.after(off);
        await store.heartbeat('P', A, LONG);
        await waitFor(() => seen.length >= 1, 'the notification of the first join');
        await store.heartbeat('P', A, LONG);
        await store.heartbeat('Other', A, LONG);
        await waitFor(() => seen.includes('Other'), 'the notification of the join of the other handler');
        assert.deepEqual(seen, ['P', 'Other']);
      });

      it('rejects an unknown handler, a malformed node and a bad lease with StoreError', async (t) => {
        const { store } = await open(t);
        await assert.rejects(store.heartbeat('nobody', A, LONG), StoreError);
        for (const node of [{ id: '', label: 'x' }, { id: 'n' }, null]) {
          // @ts-expect-error: deliberately invalid input
          await assert.rejects(store.heartbeat('P', node, LONG), StoreError);
        }
        for (const leaseMs of [0, -5, 1.5, Number.NaN]) await assert.rejects(store.heartbeat('P', A, leaseMs), StoreError);
        assert.deepEqual((await store.heartbeat('P', B, LONG)).members, [B]);
      });
    });

    describe('claimSlots', () => {
      it('claims free slots, sorted by slot, each with a first epoch and its cursor', async (t) => {
        const { store } = await open(t, 4, 3);
        const claims = await store.claimSlots('P', A, [3, 1], LONG);
        assert.deepEqual(claims, [
          { slot: 1, epoch: 1, cursor: { position: 3, acked: [] }, takenFrom: undefined, suspects: [] },
          { slot: 3, epoch: 1, cursor: { position: 3, acked: [] }, takenFrom: undefined, suspects: [] },
        ]);
        assert.deepEqual(await owners(store), [undefined, A.id, undefined, A.id]);
      });

      it('leaves slots another node holds alone', async (t) => {
        const { store } = await open(t, 3);
        await store.claimSlots('P', A, [0, 1], LONG);
        assert.deepEqual(slotsOf(await store.claimSlots('P', B, [1, 2], LONG)), [2]);
        assert.deepEqual(await owners(store), [A.id, A.id, B.id]);
      });

      it('claims its own slot again under a new epoch, fencing the old one', async (t) => {
        const { store } = await open(t);
        const [first] = (await store.claimSlots('P', A, [0], LONG)) as [SlotClaim];
        const [second] = (await store.claimSlots('P', A, [0], LONG)) as [SlotClaim];
        assert.ok(second.epoch > first.epoch);
        assert.equal(second.takenFrom, undefined);
        await assert.rejects(store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: first.epoch, cursor: { position: 1, acked: [] } }]), LeaseLostError);
        await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: second.epoch, cursor: { position: 1, acked: [] } }]);
      });

      it('takes over a slot whose lease ran out, at its saved cursor, naming the previous owner', async (t) => {
        const { store, advance } = await open(t, 2);
        const [claim] = (await store.claimSlots('P', A, [1], SHORT)) as [SlotClaim];
        await store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: claim.epoch, cursor: { position: 4, acked: [6] } }]);
        await advance(PAST_SHORT);
        const [taken] = (await store.claimSlots('P', B, [1], LONG)) as [SlotClaim];
        assert.deepEqual(taken, { slot: 1, epoch: claim.epoch + 1, cursor: { position: 4, acked: [6] }, takenFrom: A.id, suspects: [] });
        await assert.rejects(store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: claim.epoch, cursor: { position: 9, acked: [] } }]), LeaseLostError);
      });

      it('gives exactly one of two nodes claiming the same free slot at the same moment', async (t) => {
        const { store } = await open(t, 2);
        const [a, b] = await Promise.all([store.claimSlots('P', A, [0, 1], LONG), store.claimSlots('P', B, [1, 0], LONG)]);
        assert.deepEqual([...slotsOf(a), ...slotsOf(b)].sort(), [0, 1]);
        const held = await owners(store);
        for (const claim of a) assert.equal(held[claim.slot], A.id);
        for (const claim of b) assert.equal(held[claim.slot], B.id);
      });

      it('rejects a slot outside the handler and claims nothing', async (t) => {
        const { store } = await open(t, 2);
        await assert.rejects(store.claimSlots('P', A, [0, 2], LONG), StoreError);
        assert.deepEqual(await owners(store), [undefined, undefined]);
      });

      it('rejects an unknown handler, a malformed node, a bad lease and bad slot numbers with StoreError', async (t) => {
        const { store } = await open(t, 4);
        await assert.rejects(store.claimSlots('nobody', A, [0], LONG), StoreError);
        // @ts-expect-error: deliberately invalid input
        await assert.rejects(store.claimSlots('P', { id: 'n' }, [0], LONG), StoreError);
        await assert.rejects(store.claimSlots('P', A, [0], 0), StoreError);
        for (const slots of [[-1], [1, 1], [1.5], [MAX_SLOTS]]) await assert.rejects(store.claimSlots('P', A, slots, LONG), StoreError);
        assert.deepEqual(await owners(store), [undefined, undefined, undefined, undefined]);
      });
    });

    describe('releaseSlots and leave', () => {
      it('releases only the given slots the node holds, keeping their cursors, so another node claims them at once', async (t) => {
        const { store } = await open(t, 3);
        const [zero] = (await store.claimSlots('P', A, [0, 1], LONG)) as [SlotClaim];
        await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: zero.epoch, cursor: { position: 4, acked: [5] } }]);
        await store.claimSlots('P', B, [2], LONG);
        await store.releaseSlots('P', A.id, [0, 2]);
        assert.deepEqual(await owners(store), [undefined, A.id, B.id]);
        const [taken] = (await store.claimSlots('P', C, [0], LONG)) as [SlotClaim];
        assert.deepEqual([taken.cursor, taken.takenFrom], [{ position: 4, acked: [5] }, undefined]);
      });

      it('tells membership listeners when it released something', async (t) => {
        const { store } = await open(t);
        const seen: string[] = [];
        const off = store.onMembershipChanged((name) => seen.push(name));
        t.after(off);
        await store.claimSlots('P', A, [0], LONG);
        await store.releaseSlots('P', A.id, [0]);
        await waitFor(() => seen.includes('P'), 'the notification of the release');
      });

      it('rejects an unknown handler and a slot outside the handler with StoreError', async (t) => {
        const { store } = await open(t, 2);
        await store.claimSlots('P', A, [0], LONG);
        await assert.rejects(store.releaseSlots('nobody', A.id, [0]), StoreError);
        await assert.rejects(store.releaseSlots('P', A.id, [0, 2]), StoreError);
        await assert.rejects(store.releaseSlots('P', A.id, [0, 0]), StoreError);
        assert.deepEqual(await owners(store), [A.id, undefined]);
      });

      it("leave ends the node's membership and releases all its slots, telling membership listeners", async (t) => {
        const { store } = await open(t, 3);
        await store.heartbeat('P', A, LONG);
        await store.heartbeat('P', B, LONG);
        await store.claimSlots('P', A, [0, 2], LONG);
        await store.claimSlots('P', B, [1], LONG);
        const seen: string[] = [];
        const off = store.onMembershipChanged((name) => seen.push(name));
        t.after(off);
        await store.leave('P', A.id);
        await waitFor(() => seen.includes('P'), 'the notification of the leave');
        assert.deepEqual(await store.heartbeat('P', B, LONG), { members: [B], owners: [undefined, B.id, undefined] });
        await assert.rejects(store.leave('nobody', A.id), StoreError);
      });
    });

    describe('saveSlotCursors', () => {
      it('saves the cursors of the slots the node holds and tells cursor listeners the lowest slot position', async (t) => {
        const { store } = await open(t, 2);
        const seen: [string, number][] = [];
        const off = store.onCursorSaved((name, position) => seen.push([name, position]));
        t.after(off);
        const [zero, one] = (await store.claimSlots('P', A, [0, 1], LONG)) as [SlotClaim, SlotClaim];
        await store.saveSlotCursors('P', A.id, [
          { slot: 0, epoch: zero.epoch, cursor: { position: 5, acked: [] } },
          { slot: 1, epoch: one.epoch, cursor: { position: 3, acked: [5] } },
        ]);
        await waitFor(() => seen.some(([, position]) => position === 3), 'the notification of the first save');
        await store.saveSlotCursors('P', A.id, [{ slot: 1, epoch: one.epoch, cursor: { position: 9, acked: [] } }]);
        await waitFor(() => seen.some(([, position]) => position === 5), 'the notification of the second save');
        assert.deepEqual(seen, [['P', 3], ['P', 5]]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [] });
      });

      it('saves a slot whose lease ran out while nobody claimed it', async (t) => {
        const { store, advance } = await open(t);
        const [claim] = (await store.claimSlots('P', A, [0], SHORT)) as [SlotClaim];
        await advance(PAST_SHORT);
        await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: claim.epoch, cursor: { position: 2, acked: [] } }]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 2, acked: [] });
      });

      it('rejects with LeaseLostError naming the slots no longer held, after saving the others', async (t) => {
        const { store, advance } = await open(t, 3);
        const claims = await store.claimSlots('P', A, [0, 1, 2], SHORT);
        await advance(PAST_SHORT);
        await store.claimSlots('P', B, [1], LONG);
        const cursors = claims.map((claim) => ({ slot: claim.slot, epoch: claim.epoch, cursor: { position: 7, acked: [9] } }));
        await assert.rejects(store.saveSlotCursors('P', A.id, cursors), (error: unknown) => {
          assert.ok(error instanceof LeaseLostError);
          assert.deepEqual([error.handlerName, error.slots], ['P', [1]]);
          return true;
        });
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [9] }, 'slot 1 kept its cursor');
        assert.deepEqual(await cursorsVia(store, C, [0, 1, 2]), [{ position: 7, acked: [9] }, { position: 7, acked: [9] }]);
      });

      it('treats a wrong epoch and a released slot as lost', async (t) => {
        const { store } = await open(t, 2);
        const [zero, one] = (await store.claimSlots('P', A, [0, 1], LONG)) as [SlotClaim, SlotClaim];
        await store.releaseSlots('P', A.id, [1]);
        const cursor = { position: 3, acked: [] };
        await assert.rejects(
          store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: zero.epoch + 1, cursor }, { slot: 1, epoch: one.epoch, cursor }]),
          (error: unknown) => error instanceof LeaseLostError && error.slots.join() === '0,1',
        );
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
      });

      it('does nothing for an empty list', async (t) => {
        const { store } = await open(t);
        await store.saveSlotCursors('P', A.id, []);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
      });

      it('rejects an unknown handler, a slot outside the handler and malformed cursors with StoreError, saving nothing', async (t) => {
        const { store } = await open(t, 2);
        const [zero] = (await store.claimSlots('P', A, [0], LONG)) as [SlotClaim];
        const good = { slot: 0, epoch: zero.epoch, cursor: { position: 3, acked: [] } };
        await assert.rejects(store.saveSlotCursors('nobody', A.id, [good]), StoreError);
        await assert.rejects(store.saveSlotCursors('P', A.id, [good, { ...good, slot: 2 }]), StoreError);
        const malformed = [
          { ...good, epoch: -1 },
          { ...good, cursor: { position: -1, acked: [] } },
          { ...good, cursor: { position: 3, acked: [2] } },
          { ...good, slot: 1.5 },
        ];
        for (const entry of malformed) await assert.rejects(store.saveSlotCursors('P', A.id, [entry]), StoreError);
        await assert.rejects(store.saveSlotCursors('P', A.id, [good, good]), StoreError);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
      });
    });
  });
}
