import { AsyncLocalStorage } from 'node:async_hooks';

/** Which handler's `handle` the current async call runs inside, so a dispatch from it never waits for itself. */
export interface HandlerScope {
  readonly app: object;
  readonly handlerName: string;
}

/** The async-local scope set around every `handle` call. */
export const handlerScope = new AsyncLocalStorage<HandlerScope>();
