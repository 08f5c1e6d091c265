/** Turns driver errors into herald's errors. */
import { HeraldError, InvalidEventError, StoreError } from '../../errors.ts';

/** SQLSTATEs of JSON text PostgreSQL cannot store (`\u0000`, lone surrogates, bad escapes). */
const unstorableJson = new Set(['22P05', '22P02', '22025', '22021']);

/** The SQLSTATE of a postgres.js server error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The error to surface for a failed store operation: herald errors as they are, JSON the database refuses
 * as `InvalidEventError` (append only), anything else (connection lost past the driver's retries, server
 * errors) as a `StoreError` carrying the original as `cause`.
 */
export function storeFailure(operation: string, error: unknown): HeraldError {
  if (error instanceof HeraldError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (operation === 'append' && unstorableJson.has(sqlState(error) ?? '')) {
    return new InvalidEventError(`the events cannot be stored: ${message}`);
  }
  return new StoreError(`${operation} failed: ${message}`, error);
}
