/**
 * The lifecycle states of a handler as `app.status()` and the `handler:state` telemetry show them: `'starting'`,
 * `'catching_up'`, `'live'` (both running), `'standby'` (running, owns no slot: other processes have them),
 * `'stopping'`, `'stopped'`, `'failed'`. A restart goes from `'failed'` to `'starting'`.
 */
export type HandlerState = (typeof handlerStates)[number];

/** Every {@link HandlerState}, in lifecycle order. */
export const handlerStates = ['starting', 'catching_up', 'live', 'standby', 'stopping', 'stopped', 'failed'] as const;

/** Whether `value` is one of the {@link HandlerState}s. */
export function isHandlerState(value: unknown): value is HandlerState {
  return (handlerStates as readonly unknown[]).includes(value);
}
