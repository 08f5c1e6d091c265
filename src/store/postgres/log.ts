/** The event log of the PostgreSQL store: appends (numbering themselves, else the sequencer's), keyset reads and the head. */
import type { ISql } from 'postgres';
import { StoreError, WrongExpectedVersionError } from '../../errors.ts';
import type { RecordedEvent } from '../../events/types.ts';
import type { AppendRequest, AppendResult, ReadRequest, ReadResult } from '../types.ts';
import { toNumber, toRecordedEvent } from './rows.ts';
import { createAppendQueue } from './append-queue.ts';
import { clearPending } from './sql/append-group.ts';
import type { Sequencer } from './sequencer.ts';
import { appendEvents, lastNumberOf, readEvents, readHead } from './sql/events.ts';
import type { AppendArgs, AppendRow, Int8 } from './sql/events.ts';
import { checkExpectedVersion, checkReadRequest, checkStreamId } from '../validate.ts';
import { serializeEvents } from './validate.ts';

type AppendArgsOf = Omit<AppendArgs, 'notifyChannel'>;

/** The log operations of the store. */
export interface EventLog {
  append(request: AppendRequest): Promise<AppendResult>;
  read(request: ReadRequest): Promise<ReadResult>;
  head(): Promise<number>;
}

/** What the log needs. */
export interface EventLogDeps {
  readonly sql: ISql;
  readonly schema: string;
  readonly channel: string;
  readonly sequencer: Sequencer;
  /** Resolves once this store's LISTEN is in place, so its own listeners hear its appends. */
  readonly listening: () => Promise<void>;
}

/** Creates the log operations. */
export function createEventLog({ sql, schema, channel, sequencer, listening }: EventLogDeps): EventLog {
  const queue = createAppendQueue(sql, schema, channel);
  /** The highest number among stored events with these ids, numbering committed batches first if needed. */
  async function lastNumberOfStored(db: ISql, ids: readonly string[], inTransaction: boolean): Promise<number> {
    let found = await lastNumberOf(db, schema, ids);
    if (found.unnumbered && !inTransaction) {
      await sequencer.number();
      found = await lastNumberOf(db, schema, ids);
    }
    return found.last === null ? 0 : toNumber(found.last);
  }

  /** The result of an append whose fresh events start at `firstVersion` / `firstNumber` (0: numbered after commit). */
  function appended(request: AppendRequest, stored: ReadonlySet<string>, firstVersion: number, firstNumber: number, createdAt: Date): AppendResult {
    const fresh = request.events.filter((event) => !stored.has(event.eventId));
    const duplicates = request.events.filter((event) => stored.has(event.eventId)).map((event) => event.eventId);
    const events = fresh.map(
      (event, i): RecordedEvent => ({
        eventId: event.eventId,
        eventNumber: firstNumber === 0 ? 0 : firstNumber + i,
        streamId: request.streamId,
        streamVersion: firstVersion + i,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        createdAt: new Date(createdAt.getTime()),
      }),
    );
    return { events, duplicates, lastEventNumber: firstNumber === 0 ? 0 : firstNumber + fresh.length - 1 };
  }

  /**
   * An append outside a caller's transaction that numbers itself in one statement (grouped with concurrent ones);
   * `undefined` when it must go the slow way (an expectation that did not hold, an id stored already, a deadlock).
   * A stream that may hold events awaiting numbers has them numbered and its flag cleared, then is tried once more.
   */
  async function appendNumbering(request: AppendRequest, args: AppendArgsOf): Promise<AppendResult | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await queue.append(args, request.events.length);
      if (outcome.kind === 'numbered') {
        const { row } = outcome;
        return appended(request, new Set(), toNumber(row.version ?? 0), toNumber(row.first_number ?? 0), row.created_at);
      }
      if (outcome.kind === 'missed' || !outcome.behind) return undefined;
      await sequencer.number();
      if (!(await clearPending(sql, schema, request.streamId))) return undefined;
    }
    return undefined;
  }

  async function append(request: AppendRequest): Promise<AppendResult> {
    const { streamId, expectedVersion, transaction } = request;
    checkStreamId(streamId);
    checkExpectedVersion(expectedVersion);
    const json = serializeEvents(request.events);
    if (request.events.length === 0) return { events: [], duplicates: [], lastEventNumber: 0 };

    const db = transaction ?? sql;
    const args = {
      streamId,
      expected: typeof expectedVersion === 'number' ? ('exact' as const) : expectedVersion,
      expectedVersion: typeof expectedVersion === 'number' ? expectedVersion : 0,
      events: json,
    };
    // Outside a caller's transaction the LISTEN must be in place first, so this process's own listeners hear the
    // numbers. Such an append numbers itself before its commit (migration 7); the slow way below (stored, committed,
    // then numbered by the sequencer, as an outbox append is) settles what that cannot: a wrong expected version,
    // ids stored already.
    if (transaction === undefined) {
      await listening();
      const done = await appendNumbering(request, args);
      if (done !== undefined) return done;
    }
    const numbered = transaction === undefined ? sequencer.appendNumbered(args) : undefined;
    const row: AppendRow & { first_number?: Int8 | null } = numbered === undefined
      ? await appendEvents(db, schema, { ...args, notifyChannel: transaction === undefined ? null : channel })
      : await numbered;
    if (row.outcome === 'wrong_expected_version') {
      throw new WrongExpectedVersionError(streamId, expectedVersion, toNumber(row.version ?? 0));
    }
    const stored = new Set(row.duplicates);
    const fresh = request.events.filter((event) => !stored.has(event.eventId));
    const duplicates = request.events.filter((event) => stored.has(event.eventId)).map((event) => event.eventId);
    if (fresh.length === 0 || row.batch_id === null || row.version === null) {
      return { events: [], duplicates, lastEventNumber: await lastNumberOfStored(db, duplicates, transaction !== undefined) };
    }

    let firstNumber = 0;
    if (row.first_number !== undefined && row.first_number !== null) {
      firstNumber = toNumber(row.first_number);
    } else if (transaction === undefined) {
      const batchId = toNumber(row.batch_id);
      const first = (await sequencer.number([batchId])).get(batchId);
      if (first === undefined) throw new StoreError(`append: batch ${batchId} was committed but got no number`);
      firstNumber = first;
    }
    return appended(request, stored, toNumber(row.version), firstNumber, row.created_at);
  }

  async function read(request: ReadRequest): Promise<ReadResult> {
    checkReadRequest(request);
    const { after, limit, streamId, types } = request;
    let page = await readEvents(sql, schema, after, limit, streamId, types);
    // Committed batches await numbers. While this process is numbering, the read does not wait: every run
    // numbers all the committed batches it sees and wakes readers, and one committed after the run began is
    // numbered by its appender, by the outbox wake-up ('u'), or by the next run or read that waits.
    if (page.pending && page.events.length < limit && !sequencer.busy) {
      await sequencer.number();
      page = await readEvents(sql, schema, after, limit, streamId, types);
    }
    const events = page.events.map(toRecordedEvent);
    const last = events[events.length - 1];
    const readThrough = events.length === limit && last !== undefined ? last.eventNumber : Math.max(after, toNumber(page.head));
    return { events, readThrough };
  }

  async function head(): Promise<number> {
    let row = await readHead(sql, schema);
    if (row.pending) {
      await sequencer.number();
      row = await readHead(sql, schema);
    }
    return toNumber(row.head);
  }

  return { append, read, head };
}
