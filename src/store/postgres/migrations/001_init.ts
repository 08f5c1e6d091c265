/**
 * Migration 1: the event log, its post-commit sequencer, handlers' cursors and dead letters.
 *
 * Runs with `search_path` set to the store's schema, so names are unqualified; the functions keep that
 * path (`SET search_path FROM CURRENT`). Never edit a shipped migration: add the next one.
 *
 * Global numbering (see docs in `../sequencer.ts`): an append stores its events and one `batches` row
 * with `first_number` NULL. After commit, `sequence_batches` (one holder at a time per schema) gives every
 * committed unnumbered batch the next consecutive range of numbers; an event's number is
 * `first_number + (stream_version - first_version)`. Readers only see numbered batches, and see each
 * sequencer commit whole, so numbers are gapless and increase in the order readers can see them.
 */
export const init = /* sql */ `
CREATE TABLE events (
  stream_id text NOT NULL,
  stream_version bigint NOT NULL,
  event_id text NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_version_key PRIMARY KEY (stream_id, stream_version),
  CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE TABLE streams (
  stream_id text PRIMARY KEY,
  version bigint NOT NULL
);

-- One row per append that stored events: the versions [first_version, first_version + size) of one stream.
CREATE TABLE batches (
  id bigserial PRIMARY KEY,
  stream_id text NOT NULL,
  first_version bigint NOT NULL,
  size integer NOT NULL CHECK (size > 0),
  first_number bigint,
  last_number bigint,
  CHECK ((first_number IS NULL) = (last_number IS NULL))
);
CREATE INDEX batches_unnumbered ON batches (id) WHERE last_number IS NULL;
CREATE UNIQUE INDEX batches_last_number ON batches (last_number) WHERE last_number IS NOT NULL;
CREATE INDEX batches_stream_last_number ON batches (stream_id, last_number) WHERE last_number IS NOT NULL;
CREATE INDEX batches_stream_first_version ON batches (stream_id, first_version);

-- The last number given out: the head every reader reads through.
CREATE TABLE sequencer (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_number bigint NOT NULL
);
INSERT INTO sequencer (last_number) VALUES (0);

-- For people looking at the log with psql; the store reads through batches itself.
CREATE VIEW numbered_events AS
  SELECT b.first_number + (e.stream_version - b.first_version) AS event_number, e.*
  FROM batches b
  JOIN events e ON e.stream_id = b.stream_id
    AND e.stream_version >= b.first_version AND e.stream_version < b.first_version + b.size
  WHERE b.last_number IS NOT NULL;

CREATE TABLE handlers (
  name text PRIMARY KEY,
  subscribe_to text NOT NULL,
  consistency text NOT NULL CHECK (consistency IN ('eventual', 'strong')),
  initial_position bigint NOT NULL CHECK (initial_position >= 0),
  position bigint NOT NULL CHECK (position >= 0),
  acked bigint[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
  id text PRIMARY KEY,
  handler_name text NOT NULL,
  event jsonb NOT NULL,
  error_message text NOT NULL,
  error_stack text,
  attempts integer NOT NULL,
  dead_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX dead_letters_handler ON dead_letters (handler_name, dead_at);
CREATE INDEX dead_letters_dead_at ON dead_letters (dead_at);

-- Appends p_events ([{ "id", "type", "data", "metadata" }], ids distinct) to one stream, in one statement.
-- The fast path claims the versions and locks the stream row in one upsert that holds only if the
-- expectation does, inserts the events (ids already stored are skipped by ON CONFLICT) and one batch.
-- When the expectation fails, the append still succeeds if every id is stored already (a retry).
-- Returns outcome 'ok' or 'wrong_expected_version' (with the stream's version) instead of raising, so a
-- caller's transaction (outbox) stays usable. p_notify_channel: notified (at commit) that a batch awaits numbers.
CREATE FUNCTION append_events(
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
    INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, v_count)
    ON CONFLICT (stream_id) DO UPDATE SET version = s.version + v_count
    RETURNING s.version - v_count INTO v_current;
  ELSIF p_expected = 'no_stream' OR (p_expected = 'exact' AND p_expected_version = 0) THEN
    INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, v_count)
    ON CONFLICT (stream_id) DO UPDATE SET version = v_count WHERE s.version = 0
    RETURNING 0 INTO v_current;
  ELSIF p_expected = 'stream_exists' THEN
    UPDATE streams s SET version = s.version + v_count WHERE s.stream_id = p_stream_id AND s.version > 0
    RETURNING s.version - v_count INTO v_current;
  ELSE
    UPDATE streams s SET version = s.version + v_count WHERE s.stream_id = p_stream_id AND s.version = p_expected_version
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

-- The sequencer: numbers up to p_max committed unnumbered batches, in insertion order, continuing
-- gaplessly from the last number, and returns how many it numbered with the numbers of p_wanted.
-- One holder per schema (transaction advisory lock on the schema's oid); every statement after the
-- lock sees every batch committed before it. Rows of transactions still open are invisible here and
-- get numbered by a later run. Notifies p_channel ('a') when it numbered something.
CREATE FUNCTION sequence_batches(p_max integer, p_wanted bigint[], p_channel text)
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
  PERFORM pg_advisory_xact_lock((SELECT n.oid::integer FROM pg_namespace n WHERE n.nspname = current_schema()), 1213353028);
  -- One statement, so its snapshot is taken after the lock: it sees every batch committed before.
  WITH head AS (
    SELECT s.last_number FROM sequencer s
  ), pending AS (
    SELECT b.ctid AS row_id, b.size, sum(b.size) OVER (ORDER BY b.id) AS upto
    FROM batches b WHERE b.last_number IS NULL ORDER BY b.id LIMIT p_max
  ), numbered AS (
    UPDATE batches b SET first_number = h.last_number + p.upto - p.size + 1, last_number = h.last_number + p.upto
    FROM pending p, head h WHERE b.ctid = p.row_id
    RETURNING b.id, b.first_number, b.last_number
  ), moved AS ( -- runs although nothing reads it, as every data-modifying CTE does
    UPDATE sequencer s SET last_number = n.top
    FROM (SELECT max(numbered.last_number) AS top FROM numbered) n WHERE n.top IS NOT NULL
    RETURNING s.last_number
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
