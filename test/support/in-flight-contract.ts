/**
 * The in-flight note contract every `EventStore` passes (handler option `crashLimit`): notes written before events
 * are handed over, crash counts made by the claim that finds a note nobody cleared, the reset of a count once the
 * cursor passes its event, and dead letters keeping their error's code. A "crash" is simulated by releasing the
 * slots without clearing the note (as a dead process leaves them once its lease runs out), so no test waits.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { LeaseLostError, StoreError } from '../../src/errors.ts';
import type { EventStore, NodeIdentity, SlotClaim, Suspect } from '../../src/store/types.ts';
import type { StoreUnderTest } from './store-contract.ts';

const A: NodeIdentity = { id: '01A-node', label: 'host-a:101' };
const B: NodeIdentity = { id: '01B-node', label: 'host-b:202' };
const LONG = 60_000;

/** Registers `label + ' in-flight contract'`. */
export function inFlightContract(label: string, makeStore: () => Promise<StoreUnderTest>): void {
  async function open(t: TestContext, slots = 2) {
    const { store, cleanup } = await makeStore();
    t.after(cleanup);
    await store.migrate();
    await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin', slots });
    return store;
  }

  /** `node` claims `slot`; returns its claim. */
  async function claim(store: EventStore, node: NodeIdentity, slot = 0): Promise<SlotClaim> {
    const [claimed] = await store.claimSlots('P', node, [slot], LONG);
    assert.ok(claimed !== undefined, `${node.label} claims slot ${slot}`);
    return claimed;
  }

  /** The process holding `slot` dies: its slot is freed without its note being cleared. */
  async function crash(store: EventStore, node: NodeIdentity, slot = 0): Promise<void> {
    await store.releaseSlots('P', node.id, [slot]);
  }

  const counts = (claimed: SlotClaim): Suspect[] => [...(claimed.suspects ?? [])];
  const s = (eventNumber: number, crashes: number, alone = false): Suspect => ({ eventNumber, crashes, alone });

  describe(`${label} in-flight contract`, () => {
    it('finds no suspects when no run noted anything', async (t) => {
      const store = await open(t);
      assert.deepEqual(counts(await claim(store, A)), []);
    });

    it('counts one crash for each noted event when the next claim finds the note, and clears the note', async (t) => {
      const store = await open(t);
      const first = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: first.epoch, events: [5, 6] }]);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: first.epoch, events: [7] }]);
      await crash(store, A);
      const second = await claim(store, B);
      assert.deepEqual(counts(second), [s(5, 1), s(6, 1), s(7, 1)]);
      // The note was taken into the counts: a graceful end of the next run adds nothing.
      await crash(store, B);
      assert.deepEqual(counts(await claim(store, A)), counts(second));
    });

    it('never counts events the cursor passed, and drops their counts once it passes them', async (t) => {
      const store = await open(t);
      const first = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: first.epoch, events: [5, 6, 7, 8] }]);
      await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: first.epoch, cursor: { position: 5, acked: [7] } }]);
      await crash(store, A);
      const second = await claim(store, B);
      assert.deepEqual(counts(second), [s(6, 1), s(8, 1)]);
      await store.saveSlotCursors('P', B.id, [{ slot: 0, epoch: second.epoch, cursor: { position: 6, acked: [] } }]);
      await crash(store, B);
      assert.deepEqual(counts(await claim(store, A)), [s(8, 1)]);
    });

    it('adds up the crashes of an event noted again, and keeps the counts of suspects not in flight this time', async (t) => {
      const store = await open(t);
      let held = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [3, 4] }]);
      await crash(store, A);
      held = await claim(store, B);
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [3] }]);
      await crash(store, B);
      held = await claim(store, A);
      assert.deepEqual(counts(held), [s(3, 2), s(4, 1)]);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [3] }]);
      await crash(store, A);
      assert.deepEqual(counts(await claim(store, B)), [s(3, 3), s(4, 1)]);
    });

    it('marks a crash as an event\'s own when its note was written alone and holds only it', async (t) => {
      const store = await open(t);
      let held = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [3, 4] }]);
      await crash(store, A);
      held = await claim(store, B);
      assert.deepEqual(counts(held), [s(3, 1), s(4, 1)]);
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [3], alone: true }]);
      await crash(store, B);
      held = await claim(store, A);
      assert.deepEqual(counts(held), [s(3, 2, true), s(4, 1)]);
      // Alone, but two unpassed events in the note: the crash may be either's.
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [3] }]);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [4], alone: true }]);
      await crash(store, A);
      held = await claim(store, B);
      assert.deepEqual(counts(held), [s(3, 3), s(4, 2)]);
      // The cursor passed the other event: the note holds one unpassed event, written alone.
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [3] }]);
      await store.saveSlotCursors('P', B.id, [{ slot: 0, epoch: held.epoch, cursor: { position: 3, acked: [] } }]);
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [4], alone: true }]);
      await crash(store, B);
      assert.deepEqual(counts(await claim(store, A)), [s(4, 3, true)]);
    });

    it('drops noted events the cursor passed when more are noted', async (t) => {
      const store = await open(t);
      const first = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: first.epoch, events: [5, 6] }]);
      await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: first.epoch, cursor: { position: 6, acked: [] } }]);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: first.epoch, events: [7] }]);
      // The cursor moves back (a reset elsewhere would do more; here only the note matters): 5 and 6 were dropped.
      await store.saveSlotCursors('P', A.id, [{ slot: 0, epoch: first.epoch, cursor: { position: 4, acked: [] } }]);
      await crash(store, A);
      assert.deepEqual(counts(await claim(store, B)), [s(7, 1)]);
    });

    it('counts nothing after a run cleared its note (a graceful stop), and keeps the earlier counts', async (t) => {
      const store = await open(t);
      let held = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [2] }]);
      await crash(store, A);
      held = await claim(store, B);
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [2, 3] }]);
      await store.clearInFlight('P', B.id, [{ slot: 0, epoch: held.epoch }]);
      await crash(store, B);
      assert.deepEqual(counts(await claim(store, A)), [s(2, 1)]);
    });

    it('keeps notes per slot, written in one call', async (t) => {
      const store = await open(t);
      const claims = await store.claimSlots('P', A, [0, 1], LONG);
      await store.noteInFlight('P', A.id, claims.map((held) => ({ slot: held.slot, epoch: held.epoch, events: [10 + held.slot] })));
      await store.releaseSlots('P', A.id, [0, 1]);
      const again = await store.claimSlots('P', B, [0, 1], LONG);
      assert.deepEqual(again.map(counts), [[s(10, 1)], [s(11, 1)]]);
    });

    it('fences notes and clears by the lease epoch', async (t) => {
      const store = await open(t);
      const stale = await claim(store, A);
      const fresh = await claim(store, A);
      await assert.rejects(store.noteInFlight('P', A.id, [{ slot: 0, epoch: stale.epoch, events: [4] }]), LeaseLostError);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: fresh.epoch, events: [5] }]);
      await store.clearInFlight('P', A.id, [{ slot: 0, epoch: stale.epoch }]);
      await assert.rejects(store.noteInFlight('P', B.id, [{ slot: 0, epoch: fresh.epoch, events: [6] }]), LeaseLostError);
      await crash(store, A);
      assert.deepEqual(counts(await claim(store, B)), [s(5, 1)]);
    });

    it('forgets notes and counts when the handler is reset', async (t) => {
      const store = await open(t);
      let held = await claim(store, A);
      await store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [1] }]);
      await crash(store, A);
      held = await claim(store, B);
      await store.noteInFlight('P', B.id, [{ slot: 0, epoch: held.epoch, events: [2] }]);
      await store.resetCursor('P');
      assert.deepEqual(counts(await claim(store, A)), []);
    });

    it('rejects malformed notes and unknown handlers with StoreError', async (t) => {
      const store = await open(t);
      const held = await claim(store, A);
      await assert.rejects(store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [0] }]), StoreError);
      await assert.rejects(store.noteInFlight('P', A.id, [{ slot: 0, epoch: -1, events: [1] }]), StoreError);
      await assert.rejects(store.noteInFlight('P', A.id, [{ slot: 5, epoch: held.epoch, events: [1] }]), StoreError);
      await assert.rejects(store.noteInFlight('nope', A.id, [{ slot: 0, epoch: held.epoch, events: [1] }]), StoreError);
      await assert.rejects(store.noteInFlight('P', A.id, [{ slot: 0, epoch: held.epoch, events: [1], alone: 'yes' as unknown as boolean }]), StoreError);
    });

    it("keeps a dead letter's error code", async (t) => {
      const store = await open(t);
      const [event] = (await store.append({ streamId: 's', events: [{ eventId: 'e1', type: 'T', data: {}, metadata: {} }], expectedVersion: 'any' })).events;
      assert.ok(event !== undefined);
      const parked = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'boom', code: 'POISON_EVENT' }, attempts: 3 });
      const plain = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'plain' }, attempts: 1 });
      assert.equal(parked.error.code, 'POISON_EVENT');
      assert.deepEqual((await store.listDeadLetters()).map((letter) => letter.error.code), ['POISON_EVENT', undefined]);
      assert.equal((await store.getDeadLetter(plain.id))?.error.code, undefined);
      assert.equal('code' in ((await store.getDeadLetter(plain.id))?.error ?? {}), false);
    });
  });
}
