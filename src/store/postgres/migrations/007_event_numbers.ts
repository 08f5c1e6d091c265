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
 *
 * `sequencer.last_number` is renamed `head`: a process still running code older than this migration reads the
 * log through `batches`, which appends no longer write, and would move its cursor past new events it never saw.
 * With the column renamed its reads fail loudly instead (a `StoreError`, retried and reported as `store:warning`),
 * until it is replaced by new code; its appends, which go through the functions redefined here, keep working.
 */
export const eventNumbers = /* sql */ `
ALTER TABLE sequencer RENAME COLUMN last_number TO head;

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

-- Whether the stream may hold committed events without a number (appended through append_events: inside a caller's
-- transaction, or the slow way). An append that numbers itself refuses such a stream (append_behind), since its
-- numbers would come before those of the stream's earlier versions; the store then runs the sequencer and clears
-- the flag (clear_pending) under the stream's row lock. A flag instead of a look at the events keeps that append
-- to index probes whatever plan PostgreSQL caches for it.
ALTER TABLE streams ADD COLUMN pending boolean NOT NULL DEFAULT false;
UPDATE streams s SET pending = true WHERE EXISTS (SELECT 1 FROM batches b WHERE b.stream_id = s.stream_id AND b.last_number IS NULL);
CREATE INDEX events_unnumbered ON events (stream_id) WHERE event_number IS NULL;

CREATE FUNCTION append_behind(p_stream_id text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'stream % has events awaiting numbers, or an expectation that needs the slow way', p_stream_id USING ERRCODE = 'HR001';
END
$$;

-- Clears a stream's pending flag once none of its events awaits a number. Locks the stream row first, so the check
-- (a later statement, with a snapshot taken after the lock) sees every append to the stream that committed.
CREATE FUNCTION clear_pending(p_stream_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM 1 FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
  UPDATE streams s SET pending = false
  WHERE s.stream_id = p_stream_id AND s.pending
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = p_stream_id AND e.event_number IS NULL);
  RETURN FOUND;
END
$$;

-- append_events as in migration 1, and it marks the stream pending.
CREATE OR REPLACE FUNCTION append_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_events jsonb,
  p_notify_channel text
) RETURNS TABLE (outcome text, version bigint, batch_id bigint, duplicates text[], created_at timestamptz)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_current bigint;
  v_inserted integer;
  v_dups text[] := '{}';
  v_batch bigint;
  v_slot bigint;
  v_row record;
BEGIN
  IF p_expected = 'any' THEN
    INSERT INTO streams AS s (stream_id, version, pending) VALUES (p_stream_id, v_count, true)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_count, pending = true
    RETURNING s.version - v_count INTO v_current;
  ELSIF p_expected = 'no_stream' OR (p_expected = 'exact' AND p_expected_version = 0) THEN
    INSERT INTO streams AS s (stream_id, version, pending) VALUES (p_stream_id, v_count, true)
    ON CONFLICT (stream_id) DO UPDATE SET version = v_count, pending = true WHERE s.version = 0
    RETURNING 0 INTO v_current;
  ELSIF p_expected = 'stream_exists' THEN
    UPDATE streams s SET version = s.version + v_count, pending = true WHERE s.stream_id = p_stream_id AND s.version > 0
    RETURNING s.version - v_count INTO v_current;
  ELSE
    UPDATE streams s SET version = s.version + v_count, pending = true WHERE s.stream_id = p_stream_id AND s.version = p_expected_version
    RETURNING p_expected_version INTO v_current;
  END IF;

  IF v_current IS NULL THEN
    SELECT coalesce(array_agg(e.event_id), '{}') INTO v_dups
    FROM events e WHERE e.event_id IN (SELECT t.x->>'id' FROM jsonb_array_elements(p_events) AS t(x));
    IF cardinality(v_dups) = v_count THEN
      RETURN QUERY SELECT 'ok'::text, NULL::bigint, NULL::bigint, v_dups, now();
    ELSE
      RETURN QUERY SELECT 'wrong_expected_version'::text,
        coalesce((SELECT s.version FROM streams s WHERE s.stream_id = p_stream_id), 0), NULL::bigint, v_dups, now();
    END IF;
    RETURN;
  END IF;

  WITH inserted AS (
    INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata)
    SELECT p_stream_id, v_current + t.o, t.x->>'id', t.x->>'type', t.x->'data', t.x->'metadata'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, o)
    ORDER BY t.o
    ON CONFLICT (event_id) DO NOTHING
    RETURNING 1
  ) SELECT count(*) INTO v_inserted FROM inserted;

  IF v_inserted < v_count THEN
    -- Some ids were stored already (or by a concurrent append that committed first): they are duplicates.
    -- Close the version holes they left, lowest first, so every slot moved into is free (the stream row
    -- is locked by us), and give back the versions claimed for them.
    v_dups := ARRAY(
      SELECT t.x->>'id' FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, o)
      WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = t.x->>'id' AND e.stream_id = p_stream_id AND e.stream_version > v_current)
      ORDER BY t.o
    );
    v_slot := v_current;
    FOR v_row IN SELECT e.stream_version FROM events e WHERE e.stream_id = p_stream_id AND e.stream_version > v_current ORDER BY 1 LOOP
      v_slot := v_slot + 1;
      IF v_row.stream_version <> v_slot THEN
        UPDATE events SET stream_version = v_slot WHERE stream_id = p_stream_id AND stream_version = v_row.stream_version;
      END IF;
    END LOOP;
    UPDATE streams SET version = v_current + v_inserted WHERE stream_id = p_stream_id;
    IF v_inserted = 0 THEN
      RETURN QUERY SELECT 'ok'::text, NULL::bigint, NULL::bigint, v_dups, now();
      RETURN;
    END IF;
  END IF;

  INSERT INTO batches (stream_id, first_version, size) VALUES (p_stream_id, v_current + 1, v_inserted) RETURNING id INTO v_batch;
  IF p_notify_channel IS NOT NULL THEN
    PERFORM pg_notify(p_notify_channel, 'u');
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_current + 1, v_batch, v_dups, now();
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
    UPDATE sequencer s SET head = s.head + t.total
    FROM (SELECT sum(p.size) AS total FROM pending p) t WHERE t.total IS NOT NULL
    RETURNING s.head - t.total AS base
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
