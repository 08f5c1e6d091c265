/**
 * Bounded retries of store calls whose connection was lost (server restart, failover, a proxy dropping
 * connections). postgres.js reconnects for the next query but fails the ones in flight; a store call that
 * is safe to repeat runs again on a new connection, through the one retry helper (`store/retry.ts`), until
 * `budgetMs` of waiting is used up. Calls inside a caller's transaction are never retried: the transaction is
 * the caller's.
 */
import { systemClock } from '../../clock.ts';
import { isConnectionLoss, retrying } from '../retry.ts';

export { isConnectionLoss };

/** Runs `work`, repeating it after transient failures with jittered delays from 50 ms doubling, `budgetMs` in all. */
export function retryConnectionLoss<T>(work: () => Promise<T>, budgetMs: number): Promise<T> {
  return retrying(work, { clock: systemClock, baseMs: 50, capMs: 1000, budgetMs });
}
