/**
 * Migration 4, second part: `append_one`, the lone append of `append_now` in one function (see
 * `004_append_now.ts`). A lone dispatch is the common case, and each nested PL/pgSQL call costs a little.
 */
export const appendOne = /* sql */ `
-- One append (the common case; append_now does the same for a group): stores the events as store_events does,
-- then numbers them as append_now does, in one function without nested calls and in as few statements as it
-- can (each costs a little, mostly in starting its plan): the stream row, the events with the sequencer lock,
-- the numbers.
CREATE FUNCTION append_one(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_events jsonb,
  p_channel text,
  p_notify boolean,
  OUT outcome text,
  OUT version bigint,
  OUT duplicates jsonb,
  OUT created_at timestamptz,
  OUT first_number bigint
)
-- Custom plans: a generic plan cached by a long-lived connection while batches was small would keep scanning it
-- whole for waiting batches as it grows (until autovacuum analyzes it); a custom plan sees its current size.
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v_count integer := jsonb_array_length(p_events);
  v_current bigint;
  v_inserted integer;
  v_dups text[] := '{}';
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
      outcome := 'ok';
    ELSE
      outcome := 'wrong_expected_version';
      version := coalesce((SELECT s.version FROM streams s WHERE s.stream_id = p_stream_id), 0);
    END IF;
    duplicates := to_jsonb(v_dups);
    created_at := now();
    RETURN;
  END IF;

  -- Stores the events, then (the lateral join depends on the count, so only after the insert) takes the sequencer
  -- lock, held until the commit: never while this transaction could wait for another one's row.
  WITH inserted AS (
    INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata)
    SELECT p_stream_id, v_current + t.o, t.x->>'id', t.x->>'type', t.x->'data', t.x->'metadata'
    FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(x, o)
    ORDER BY t.o
    ON CONFLICT (event_id) DO NOTHING
    RETURNING 1
  )
  SELECT q.c INTO v_inserted
  FROM (SELECT count(*)::integer AS c FROM inserted) q
  CROSS JOIN LATERAL (
    SELECT pg_advisory_xact_lock(quote_ident(current_schema())::regnamespace::oid::integer, 1213353028 + 0 * q.c)::text
  ) l;

  IF v_inserted < v_count THEN
    -- Ids stored already (or by a concurrent append that committed first) are duplicates: close the version
    -- holes they left, lowest first (the stream row is locked by us), and give back their versions.
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
  END IF;
  outcome := 'ok';
  duplicates := to_jsonb(v_dups);
  created_at := now();
  IF v_inserted = 0 THEN
    RETURN;
  END IF;
  version := v_current + 1;
  -- After the lock (taken by the statement above, once the events were stored): a new snapshot per statement,
  -- which sees every batch committed before the lock. Usually none awaits numbers: this append's batch is
  -- recorded already numbered.
  WITH head AS (
    UPDATE sequencer q SET last_number = q.last_number + v_inserted
    WHERE NOT EXISTS (SELECT 1 FROM batches b WHERE b.last_number IS NULL)
    RETURNING q.last_number
  )
  INSERT INTO batches (stream_id, first_version, size, first_number, last_number)
  SELECT p_stream_id, v_current + 1, v_inserted, h.last_number - v_inserted + 1, h.last_number FROM head h
  RETURNING batches.first_number INTO first_number;
  IF first_number IS NULL THEN
    -- Batches of outbox appends committed earlier get their numbers first (a stream's versions stay in number
    -- order), then this append's, in one statement.
    WITH pending AS (
      SELECT b.id, b.size, sum(b.size) OVER (ORDER BY b.id) AS upto FROM batches b WHERE b.last_number IS NULL
    ), total AS (
      SELECT coalesce(max(p.upto), 0)::bigint AS n FROM pending p
    ), head AS (
      UPDATE sequencer q SET last_number = q.last_number + t.n + v_inserted FROM total t
      RETURNING q.last_number - t.n - v_inserted AS before, t.n AS pending
    ), numbered AS (
      UPDATE batches b SET first_number = h.before + p.upto - p.size + 1, last_number = h.before + p.upto
      FROM pending p, head h WHERE b.id = p.id
      RETURNING b.id
    ), mine AS (
      INSERT INTO batches (stream_id, first_version, size, first_number, last_number)
      SELECT p_stream_id, v_current + 1, v_inserted, h.before + h.pending + 1, h.before + h.pending + v_inserted FROM head h
      RETURNING batches.first_number
    )
    SELECT m.first_number INTO first_number FROM mine m;
  END IF;
  IF p_notify THEN
    PERFORM pg_notify(p_channel, 'a');
  END IF;
END
$$;
`;
