import { monotonicFactory } from 'ulid';
import { HandlerConfigError } from '../errors.ts';
import { validateTypedEvents } from '../events/check-typed.ts';
import type { AnyEvents, EventShapes } from '../events/define-events.ts';
import { normalizeEvents, validateStreamId } from '../events/validate.ts';
import type { SubscriptionSettings } from '../handler/source.ts';
import { takeLabel } from '../cluster/label.ts';
import { createNodeIdentity } from '../cluster/node.ts';
import { handlerScope } from '../handler/scope.ts';
import { inMemoryStore } from '../store/memory.ts';
import { resolveSupervisorOptions } from '../supervisor/spec.ts';
import { startRootSupervisor, type RootSupervisor } from '../supervisor/runtime.ts';
import { createTelemetry } from '../telemetry/emitter.ts';
import { waitCaughtUp } from './caught-up.ts';
import { requestReplay, requestReset } from '../ops/requests.ts';
import { createConsistencyWaiter } from './consistency.ts';
import { createControlParticipant, slotOfEvent, type ControlParticipant } from './control.ts';
import { covers, resolveDispatchOptions } from './dispatch-options.ts';
import { observeDispatch } from './dispatch-telemetry.ts';
import type { HandlerInstance } from './handler-instance.ts';
import { resolveAppOptions } from './options.ts';
import { buildTree } from './tree.ts';
import type { App, AppOptions } from './types.ts';

/** How long `app.reset` and `app.replayDeadLetter` wait for other processes to carry them out. */
const CONTROL_TIMEOUT_MS = 30_000;

/**
 * Creates an app: a store, a root supervisor for its handlers, and dispatch.
 * @example
 * const app = createApp({ store: inMemoryStore() });
 * await app.start([projector]);
 * await app.dispatch('order-1', { type: 'OrderPlaced', data: { total: 42 } }, { consistency: 'strong' });
 */
export function createApp<E extends EventShapes = AnyEvents>(options: AppOptions<E> = {}): App<E> {
  const resolved = resolveAppOptions(options as AppOptions<EventShapes>);
  const { clock, name } = resolved;
  const store = resolved.store ?? inMemoryStore({ clock });
  const node = createNodeIdentity(resolved.nodeLabel);
  const telemetry = createTelemetry(name);
  const newId = monotonicFactory();
  const appRef = {};
  const instances = new Map<string, HandlerInstance>();
  const settings: SubscriptionSettings = {
    batchSize: resolved.batchSize,
    pollMs: resolved.pollMs,
    flushEvery: resolved.flushEvery,
    flushAfterMs: resolved.flushAfterMs,
    storeRetryMs: resolved.storeRetryMs,
    readAhead: resolved.batchSize * 3,
  };
  let head = 0;
  let drainTimeoutMs = 10_000;
  let root: RootSupervisor | undefined;
  let participant: ControlParticipant | undefined;
  let started = false;
  let stopping: Promise<void> | undefined;
  let resolveDone: () => void = () => {};
  let rejectDone: (error: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  done.catch(() => {});

  const waiter = createConsistencyWaiter(store, clock, {
    local: (handlerName) => instances.get(handlerName)?.localPosition,
  });

  async function strongTargets(streamId: string, consistency: 'strong' | readonly string[]): Promise<string[]> {
    const inside = handlerScope.getStore();
    const self = inside !== undefined && inside.app === appRef ? inside.handlerName : undefined;
    const remote = store.kind === 'memory' ? [] : await store.listHandlers();
    if (consistency === 'strong') {
      const names = new Set<string>();
      for (const instance of instances.values()) {
        if (instance.config.consistency === 'strong' && covers(instance.config.subscribeTo, streamId)) names.add(instance.config.name);
      }
      for (const record of remote) {
        if (record.consistency === 'strong' && covers(record.subscribeTo, streamId)) names.add(record.name);
      }
      if (self !== undefined) names.delete(self);
      return [...names];
    }
    const subscriptions = new Map<string, string>();
    for (const record of remote) subscriptions.set(record.name, record.subscribeTo);
    for (const instance of instances.values()) subscriptions.set(instance.config.name, instance.config.subscribeTo);
    const unknown = consistency.filter((handlerName) => !subscriptions.has(handlerName));
    if (unknown.length > 0) {
      throw new HandlerConfigError(`consistency names unknown handlers: ${unknown.map((n) => `"${n}"`).join(', ')}`, 'consistency');
    }
    return consistency.filter((handlerName) => handlerName !== self && covers(subscriptions.get(handlerName) as string, streamId));
  }

  const app: App<E> = {
    name,
    done,
    on: (event, listener) => telemetry.on(event, listener),
    async start(children, supervisorOptions) {
      if (started) throw new HandlerConfigError(`app "${name}" was already started`);
      started = true;
      const supervisorDeps = { clock, telemetry, app: name };
      let tree: Awaited<ReturnType<typeof buildTree>>;
      try {
        const rootSpec = resolveSupervisorOptions(supervisorOptions, 'root');
        await store.migrate();
        tree = await buildTree(children, {
          store,
          supervisorDeps,
          instanceDeps: {
            store, clock, telemetry, appName: name, appRef, settings, node, lease: resolved.lease, upcasting: resolved.upcasting,
            drainTimeoutMs: () => drainTimeoutMs,
            head: () => head,
            advanced: (handlerName, position) => waiter.advanced(handlerName, position),
          },
        });
        if (resolved.nodeLabel !== undefined) {
          // A stable label: replace the dead process that had it at once, refuse while a live one has it.
          await takeLabel({ store, clock, node, lease: resolved.lease, handlerNames: tree.instances.map((instance) => instance.config.name) });
        }
        root = startRootSupervisor(rootSpec, tree.factories, supervisorDeps);
      } catch (error) {
        // Nothing ran yet: the app may be started again with corrected children.
        started = false;
        throw error;
      }
      for (const instance of tree.instances) instances.set(instance.config.name, instance);
      root.done.then(resolveDone, rejectDone);
      await root.start();
      if (store.control !== undefined && instances.size > 0) {
        participant = createControlParticipant({
          control: store.control, store, node, clock, appName: name, pollMs: resolved.pollMs, instances,
          onError: (error) => telemetry.emit('store:warning', { app: name, message: `control requests: ${error instanceof Error ? error.message : String(error)}` }),
        });
        participant.start();
      }
    },
    async dispatch(streamId, events, dispatchOptions) {
      const stream = validateStreamId(streamId);
      const opts = resolveDispatchOptions(dispatchOptions);
      // Before any await: listeners of dispatch:start see the caller's async context (its active span).
      const observed = observeDispatch(telemetry, clock, name, stream, Array.isArray(events) ? events.length : 1);
      try {
        const checked = await validateTypedEvents(events, resolved.typed);
        const normalized = normalizeEvents(checked, newId);
        const targets = opts.consistency === 'eventual' ? [] : await strongTargets(stream, opts.consistency);
        const result = await store.append({
          streamId: stream,
          events: observed === undefined ? normalized : observed.withMetadata(normalized),
          expectedVersion: opts.expectedVersion,
          transaction: opts.sql,
        });
        if (result.lastEventNumber > head) head = result.lastEventNumber;
        if (targets.length > 0 && result.lastEventNumber > 0) await waiter.wait(targets, result.lastEventNumber, opts.timeoutMs);
        observed?.stop();
        return { events: result.events, duplicates: result.duplicates, lastEventNumber: result.lastEventNumber };
      } catch (error) {
        observed?.stop(error);
        throw error;
      }
    },
    status() {
      return [...instances.values()].map((instance) => instance.status());
    },
    caughtUp(caughtUpOptions) {
      return waitCaughtUp(caughtUpOptions, {
        store,
        waiter,
        knows: (handlerName) => instances.has(handlerName),
        running: () => [...instances.values()].filter((instance) => instance.running).map((instance) => instance.config.name),
      });
    },
    async reset(handlerName) {
      const instance = instances.get(handlerName);
      if (instance === undefined) throw new HandlerConfigError(`no handler named "${handlerName}" in app "${name}"`, 'name');
      // Run by other processes too: they carry it out together (this one included), see ./control.ts.
      if (store.control !== undefined && (await store.control.liveMembers(handlerName)).length > 0) {
        await requestReset(store, handlerName, { timeoutMs: CONTROL_TIMEOUT_MS });
        return;
      }
      await instance.reset();
    },
    stop(stopOptions) {
      stopping ??= (async () => {
        if (stopOptions?.timeoutMs !== undefined) drainTimeoutMs = stopOptions.timeoutMs;
        await participant?.close();
        await root?.stop();
        waiter.close();
        await store.close();
        if (root === undefined) resolveDone();
      })();
      return stopping;
    },
    deadLetters(filter) {
      return store.listDeadLetters({ handlerName: filter?.handler });
    },
    async replayDeadLetter(id) {
      const deadLetter = await store.getDeadLetter(id);
      if (deadLetter === undefined) throw new HandlerConfigError(`no dead letter with id "${id}"`, 'id');
      const instance = instances.get(deadLetter.handlerName);
      const here = instance?.running === true && instance.status().slots.owned.includes(slotOfEvent(instance.config, deadLetter.event, name));
      if (!here && store.control !== undefined && (await store.control.liveMembers(deadLetter.handlerName)).length > 0) {
        // Another process owns the event's slot: it replays it.
        const result = await requestReplay(store, id, { timeoutMs: CONTROL_TIMEOUT_MS });
        return result.state === 'done' ? (result.outcome as 'handled' | 'skipped' | 'stopped') : 'stopped';
      }
      if (instance === undefined || !instance.running) {
        throw new HandlerConfigError(`handler "${deadLetter.handlerName}" is not running in app "${name}"`, 'handler');
      }
      const outcome = await instance.replay(deadLetter.event);
      if (outcome === 'handled' || outcome === 'skipped') await store.removeDeadLetter(id);
      return outcome === 'halted' ? 'stopped' : outcome;
    },
    async prune({ deadLettersOlderThan }) {
      if (!(deadLettersOlderThan instanceof Date) || Number.isNaN(deadLettersOlderThan.getTime())) {
        throw new HandlerConfigError('deadLettersOlderThan must be a valid Date', 'deadLettersOlderThan');
      }
      return store.pruneDeadLetters(deadLettersOlderThan);
    },
  };
  return app;
}

