/**
 * Migration 7: the global number moves onto the event row (issue 17).
 *
 * An append outside a caller's transaction now numbers its own events before it commits, in one statement
 * (`sql/append-group.ts`): it claims its streams' versions (stream row locks first), then takes the `sequencer`
 * row lock (an `UPDATE` of the head), then inserts its events with their numbers, and commits. PostgreSQL makes a
 * transaction visible before it releases its locks, so transactions that numbered under the sequencer row lock
 * become visible in number order: a reader never sees a number before every smaller one.
 *
 * Appends inside a caller's transaction (outbox) cannot hold that lock across the caller's work: they still store
 * their events unnumbered with a `batches` row (`append_events`, unchanged), and `sequence_batches` numbers them
 * after commit, now writing `events.event_number` too, under the same row lock (no longer reading the head with its
 * snapshot, since appends now move the head outside the advisory lock).
 *
 * Upgrade in place: every event of a numbered batch gets the number it had (`first_number + version offset`);
 * events of batches still unnumbered keep NULL and are numbered by the next sequencer run, as before. Readers read
 * `events` by `event_number` (a unique index); a type-filtered read walks `(type, event_number)`, which replaces
 * migration 4's `(stream_id, type, stream_version)`. The backfill rewrites every event row once: on a large log,
 * run `migrate()` at a quiet moment.
 */
export const eventNumbers = /* sql */ `
ALTER TABLE events ADD COLUMN event_number bigint;

UPDATE events e SET event_number = b.first_number + (e.stream_version - b.first_version)
FROM batches b
WHERE b.last_number IS NOT NULL AND e.stream_id = b.stream_id
  AND e.stream_version >= b.first_version AND e.stream_version < b.first_version + b.size;

CREATE UNIQUE INDEX events_event_number ON events (event_number);
CREATE INDEX events_type_number ON events (type, event_number);
DROP INDEX IF EXISTS events_stream_type_version;

CREATE OR REPLACE VIEW numbered_events AS
  SELECT e.event_number, e.stream_id, e.stream_version, e.event_id, e.type, e.data, e.metadata, e.created_at
  FROM events e
  WHERE e.event_number IS NOT NULL;

-- Raised by an append that finds its stream's previous event committed but not numbered yet (an outbox batch the
-- sequencer has not reached, or one its statement snapshot cannot see): numbering its own events first would put
-- the stream's versions out of number order. The store runs the sequencer and appends again.
CREATE FUNCTION append_behind(p_stream_id text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stream % has events awaiting numbers', p_stream_id USING ERRCODE = 'HR001';
END
$$;

-- The sequencer (same contract as migration 1's): numbers up to p_max committed unnumbered batches in id order,
-- on the batch rows and on their events. The head moves by an UPDATE of the sequencer row (its row lock orders
-- this run with appends that number themselves), and the numbers come from that UPDATE's result.
CREATE OR REPLACE FUNCTION sequence_batches(p_max integer, p_wanted bigint[], p_channel text)
RETURNS TABLE (numbered integer, wanted_ids bigint[], wanted_numbers bigint[])
LANGUAGE plpgsql SET search_path FROM CURRENT SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  v_count integer;
  v_ids bigint[];
  v_numbers bigint[];
BEGIN
  IF cardinality(p_wanted) > 0
     AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = ANY (p_wanted) AND b.last_number IS NULL) THEN
    RETURN QUERY SELECT 0, array_agg(b.id), array_agg(b.first_number) FROM batches b WHERE b.id = ANY (p_wanted);
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM batches b WHERE b.last_number IS NULL) THEN
    RETURN QUERY SELECT 0, NULL::bigint[], NULL::bigint[];
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock((SELECT n.oid::integer FROM pg_namespace n WHERE n.nspname = current_schema()), 1213353028);
  WITH pending AS MATERIALIZED (
    SELECT b.id, b.stream_id, b.first_version, b.size, sum(b.size) OVER (ORDER BY b.id) AS upto
    FROM batches b WHERE b.last_number IS NULL ORDER BY b.id LIMIT p_max
  ), moved AS (
    UPDATE sequencer s SET last_number = s.last_number + t.total
    FROM (SELECT sum(p.size) AS total FROM pending p) t WHERE t.total IS NOT NULL
    RETURNING s.last_number - t.total AS base
  ), numbered AS (
    UPDATE batches b SET first_number = m.base + p.upto - p.size + 1, last_number = m.base + p.upto
    FROM pending p, moved m WHERE b.id = p.id
    RETURNING b.id, b.stream_id, b.first_version, b.size, b.first_number, b.last_number
  ), events_numbered AS ( -- runs although nothing reads it, as every data-modifying CTE does
    UPDATE events e SET event_number = n.first_number + (e.stream_version - n.first_version)
    FROM numbered n
    WHERE e.stream_id = n.stream_id AND e.stream_version >= n.first_version AND e.stream_version < n.first_version + n.size
    RETURNING 1
  )
  SELECT (SELECT count(*)::integer FROM numbered),
         array_agg(w.id ORDER BY w.id),
         array_agg(coalesce(n.first_number, b.first_number) ORDER BY w.id)
  INTO v_count, v_ids, v_numbers
  FROM unnest(p_wanted) AS w(id)
  LEFT JOIN numbered n ON n.id = w.id
  LEFT JOIN batches b ON b.id = w.id;
  IF v_count > 0 THEN
    PERFORM pg_notify(p_channel, 'a');
  END IF;
  RETURN QUERY SELECT v_count, v_ids, v_numbers;
END
$$;
`;
