import { assign, fromPromise, setup } from 'xstate';
import type { CursorState } from '../store/types.ts';
import { isNormalStop } from './actions.ts';
import { isHandlerState, type HandlerState } from './handler-state.ts';

/** What startup produced: where to resume and the workers' initial state, or a stop from `afterStart`. */
export type StartupResult = { readonly cursor: CursorState; readonly state: unknown } | { readonly stop: unknown };

/** Events the subscription actor accepts. */
export type SubscriptionEvent =
  | { type: 'CAUGHT_UP' }
  | { type: 'BEHIND' }
  | { type: 'STANDBY' }
  | { type: 'STOP' }
  | { type: 'FAIL'; reason: unknown };

/**
 * The lifecycle of one started handler: starting → catching up ⇄ live (⇄ standby while other processes own every
 * slot) → stopping → stopped, or → failing → failed
 * (→ stopped when the handler stopped itself with reason `'normal'`).
 * Effects (startup, reading, draining) are provided by the subscription as actors, so the machine stays declarative;
 * events flow through the pump in batches, never as machine messages.
 */
export const subscriptionMachine = setup({
  types: {
    context: {} as { reason: unknown; failed: boolean },
    events: {} as SubscriptionEvent,
  },
  actors: {
    startup: fromPromise<StartupResult>(async () => {
      throw new Error('startup actor not provided');
    }),
    drain: fromPromise<void>(async () => {}),
    abort: fromPromise<void>(async () => {}),
  },
  actions: {
    startReading: () => {},
  },
  guards: {
    normalStop: ({ context }) => isNormalStop(context.reason),
    startupStopped: ({ event }) => 'output' in event && typeof event.output === 'object' && event.output !== null && 'stop' in event.output,
  },
}).createMachine({
  id: 'subscription',
  context: { reason: undefined, failed: false },
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'startup',
        onDone: [
          {
            guard: 'startupStopped',
            target: 'failing',
            actions: assign({ reason: ({ event }) => (event.output as { stop: unknown }).stop, failed: true }),
          },
          { target: 'running' },
        ],
        onError: { target: 'failing', actions: assign({ reason: ({ event }) => event.error, failed: true }) },
      },
      on: { STOP: 'stopping' },
    },
    running: {
      entry: 'startReading',
      initial: 'catching_up',
      states: {
        catching_up: { on: { CAUGHT_UP: 'live', STANDBY: 'standby' } },
        live: { on: { BEHIND: 'catching_up', STANDBY: 'standby' } },
        // Another process owns every slot: this run waits, ready to take over.
        standby: { on: { BEHIND: 'catching_up', CAUGHT_UP: 'live' } },
      },
      on: {
        STOP: 'stopping',
        FAIL: { target: 'failing', actions: assign({ reason: ({ event }) => event.reason, failed: true }) },
      },
    },
    stopping: {
      invoke: { src: 'drain', onDone: 'stopped', onError: 'stopped' },
    },
    failing: {
      invoke: {
        src: 'abort',
        onDone: [{ guard: 'normalStop', target: 'stopped' }, { target: 'failed' }],
        onError: [{ guard: 'normalStop', target: 'stopped' }, { target: 'failed' }],
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});

/** The flat state name of a snapshot value, as `status()` and telemetry show it. */
export function stateName(value: unknown): HandlerState {
  // 'failing' is how the machine tells a stop it must report from one it was asked for; outside, both are stopping.
  if (value === 'failing') return 'stopping';
  const name = typeof value === 'object' && value !== null && 'running' in value ? (value as { running: unknown }).running : value;
  if (isHandlerState(name)) return name;
  throw new Error(`subscription machine in a state herald does not know: ${JSON.stringify(value)}`);
}
