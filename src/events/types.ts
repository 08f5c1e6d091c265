/** What a caller dispatches. */
export interface EventData<T = unknown> {
  /** Event type, e.g. `'OrderPlaced'`. Required, non-empty. */
  type: string;
  /** JSON-serializable payload (no functions, symbols, BigInt, NaN/Infinity, cycles or `\u0000`). */
  data: T;
  /** Optional JSON metadata; `correlationId` / `causationId` are conventional keys. */
  metadata?: Record<string, unknown>;
  /** Caller-chosen unique id (e.g. an inbound message id); default: a new ULID. Appending a stored id is a no-op. */
  eventId?: string;
}

/** What a handler receives. */
export interface RecordedEvent<T = unknown> {
  /** ULID unless the caller supplied one. */
  readonly eventId: string;
  /** Position in the global log: strictly increasing in delivery order, starting at 1. */
  readonly eventNumber: number;
  /** The stream the event was appended to. */
  readonly streamId: string;
  /** 1-based position inside its stream. */
  readonly streamVersion: number;
  /** Event type. */
  readonly type: string;
  /** Payload. */
  readonly data: T;
  /** Metadata (`{}` when none was given). */
  readonly metadata: Record<string, unknown>;
  /** When the event was stored. */
  readonly createdAt: Date;
}

/** The stream version a dispatch expects: a number (the stream's current version), or a condition. */
export type ExpectedVersion = number | 'any' | 'no_stream' | 'stream_exists';

/** An event validated and normalized for storage: id assigned, JSON checked. */
export interface NewEvent {
  readonly eventId: string;
  readonly type: string;
  /** The payload as it will be stored (undefined properties dropped, Dates as ISO strings). */
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
}
