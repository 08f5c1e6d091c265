/**
 * Migration 5: an index for reads filtered by event type (handlers with `on`). A read walks batches in number
 * order and takes each batch's events of the wanted types by (stream_id, type, stream_version), so the events of
 * other types cost an index probe, never a row read or a row sent.
 * Building it blocks appends on a large log for as long as it takes; an index of that name created beforehand
 * (CONCURRENTLY) is kept. See docs/postgres.md.
 */
export const typeFilter = /* sql */ `
CREATE INDEX IF NOT EXISTS events_stream_type_version ON events (stream_id, type, stream_version);
`;
