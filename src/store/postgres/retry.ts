/**
 * Bounded retries of store calls whose connection was lost (server restart, failover, a proxy dropping
 * connections). postgres.js reconnects for the next query but fails the ones in flight; a store call that
 * is safe to repeat runs again on a new connection, with doubling delays, until `budgetMs` of waiting is
 * used up. Calls inside a caller's transaction are never retried: the transaction is the caller's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sqlState } from './failure.ts';

/** Driver and socket codes of a lost or refused connection (not `CONNECTION_ENDED`: the pool was ended). */
const lostConnection = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown: terminated by an administrator or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
]);

/** Whether `error` means the connection was lost or refused, so a repeat on a new one may succeed. */
export function isConnectionLoss(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && (lostConnection.has(code) || code.startsWith('08'));
}

/** Runs `work`, repeating it after connection losses with delays of 50 ms doubling, `budgetMs` in all. */
export async function retryConnectionLoss<T>(work: () => Promise<T>, budgetMs: number): Promise<T> {
  let waited = 0;
  for (let delay = 50; ; delay *= 2) {
    try {
      return await work();
    } catch (error) {
      if (!isConnectionLoss(error) || waited >= budgetMs) throw error;
      const pause = Math.min(delay, budgetMs - waited);
      waited += pause;
      await sleep(pause);
    }
  }
}
