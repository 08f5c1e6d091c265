/**
 * Migration 4: `append_now`, appends that number themselves in their own transaction (one commit each).
 *
 * Before, an append outside a caller's transaction committed an unnumbered `batches` row, then a second
 * transaction (the sequencer) numbered it with an UPDATE that changes indexed columns (never HOT: a new row
 * version and 3–4 index entries) and committed again. Now `append_now` stores the events of one or more
 * appends, then takes the sequencer's lock (the same per-schema advisory lock `sequence_batches` takes), numbers
 * every committed batch still awaiting numbers (outbox appends) first, inserts each append's batch row already
 * numbered, moves the head and notifies, and the transaction commits while still holding the lock. The lock
 * is transaction-scoped, so it is released only after the commit is visible: a number is never visible before
 * every smaller one, and nothing waits on a writer's open transaction except its own last microseconds.
 *
 * Appends inside a caller's transaction keep the post-commit sequencer (their batch rows are numbered after the
 * caller commits); so do processes still running the code of migration 3 (`append_events`, `append_numbered`
 * and `sequence_batches` keep their signatures and behaviour). Nothing stored changes: every number is kept.
 *
 * `store_events` is the part of `append_events` before its batch row; `append_events` now calls it. The lone
 * append's function, `append_one`, is in `004_append_one.ts` (the same migration).
 */
export const appendNow = /* sql */ `
-- Stores one append's events (see append_events in migration 1 for the rules): claims the versions under the
-- stream row's lock, inserts the events, drops ids stored already. Writes no batch row. stored = events inserted.
CREATE FUNCTION store_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_events jsonb
) RETURNS TABLE (outcome text, version bigint, stored integer, duplicates text[])
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
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
      RETURN QUERY SELECT 'ok'::text, NULL::bigint, 0, v_dups;
    ELSE
      RETURN QUERY SELECT 'wrong_expected_version'::text,
        coalesce((SELECT s.version FROM streams s WHERE s.stream_id = p_stream_id), 0), 0, v_dups;
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
  RETURN QUERY SELECT 'ok'::text, CASE WHEN v_inserted > 0 THEN v_current + 1 END, v_inserted, v_dups;
END
$$;

-- Same contract as before (migration 1), on top of store_events: the batch row waits for the sequencer.
CREATE OR REPLACE FUNCTION append_events(
  p_stream_id text,
  p_expected text,
  p_expected_version bigint,
  p_events jsonb,
  p_notify_channel text
) RETURNS TABLE (outcome text, version bigint, batch_id bigint, duplicates text[], created_at timestamptz)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  v_stored record;
  v_batch bigint;
BEGIN
  SELECT * INTO v_stored FROM store_events(p_stream_id, p_expected, p_expected_version, p_events) s;
  IF v_stored.stored = 0 THEN
    RETURN QUERY SELECT v_stored.outcome, v_stored.version, NULL::bigint, v_stored.duplicates, now();
    RETURN;
  END IF;
  INSERT INTO batches (stream_id, first_version, size) VALUES (p_stream_id, v_stored.version, v_stored.stored) RETURNING id INTO v_batch;
  IF p_notify_channel IS NOT NULL THEN
    PERFORM pg_notify(p_notify_channel, 'u');
  END IF;
  RETURN QUERY SELECT 'ok'::text, v_stored.version, v_batch, v_stored.duplicates, now();
END
$$;

-- Appends p_appends ([{ "s": stream, "x": expected, "v": expected version, "e": events }], in this order) in the
-- caller's (autocommit) transaction and numbers them before it commits; notifies p_channel ('a') if p_notify
-- (the store sends at most one such notification per few milliseconds and wakes its own readers itself).
-- Must be the last thing its transaction does: the sequencer lock it takes is held until the commit. With p_try_locks, an append whose stream row
-- another transaction holds is left out (outcome 'busy', nothing stored), so one slow transaction never holds
-- up a group of unrelated appends; the caller sends it again alone. One row per append, in input order.
CREATE FUNCTION append_now(p_appends jsonb, p_channel text, p_notify boolean, p_try_locks boolean)
RETURNS TABLE (outcome text, version bigint, duplicates jsonb, created_at timestamptz, first_number bigint)
-- Custom plans, as append_one (004_append_one.ts) says why.
LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan AS $$
DECLARE
  v_item jsonb;
  v_busy text[] := '{}';
  v_stored record;
  v_outcomes text[] := '{}';
  v_versions bigint[] := '{}';
  v_sizes integer[] := '{}';
  v_dups jsonb[] := '{}';
  v_total bigint := 0;
  v_head bigint;
BEGIN
  IF p_try_locks THEN
    SELECT coalesce(array_agg(s.stream_id), '{}') INTO v_busy FROM streams s
    WHERE s.stream_id IN (SELECT t.x->>'s' FROM jsonb_array_elements(p_appends) AS t(x))
      AND s.stream_id NOT IN (
        SELECT l.stream_id FROM (
          SELECT k.stream_id FROM streams k
          WHERE k.stream_id IN (SELECT t.x->>'s' FROM jsonb_array_elements(p_appends) AS t(x))
          ORDER BY k.stream_id FOR UPDATE SKIP LOCKED
        ) l
      );
  END IF;
  FOR v_item IN SELECT t.x FROM jsonb_array_elements(p_appends) WITH ORDINALITY AS t(x, o) ORDER BY t.o LOOP
    IF (v_item->>'s') = ANY (v_busy) THEN
      v_outcomes := v_outcomes || 'busy'::text;
      v_versions := v_versions || NULL::bigint;
      v_sizes := v_sizes || 0;
      v_dups := v_dups || '[]'::jsonb;
      CONTINUE;
    END IF;
    SELECT * INTO v_stored FROM store_events(v_item->>'s', v_item->>'x', (v_item->>'v')::bigint, v_item->'e') s;
    v_outcomes := v_outcomes || v_stored.outcome;
    v_versions := v_versions || v_stored.version;
    v_sizes := v_sizes || v_stored.stored;
    v_dups := v_dups || to_jsonb(v_stored.duplicates);
    v_total := v_total + v_stored.stored;
  END LOOP;

  IF v_total > 0 THEN
    PERFORM pg_advisory_xact_lock(quote_ident(current_schema())::regnamespace::oid::integer, 1213353028);
    -- A new snapshot from here: every batch committed before the lock is visible. Batches of outbox appends
    -- committed earlier get their numbers first (a stream's versions stay in number order), then this call's.
    WITH pending AS (
      SELECT b.id, b.size, sum(b.size) OVER (ORDER BY b.id) AS upto FROM batches b WHERE b.last_number IS NULL
    ), total AS (
      SELECT coalesce(max(p.upto), 0)::bigint AS n FROM pending p
    ), head AS (
      UPDATE sequencer q SET last_number = q.last_number + t.n + v_total FROM total t
      RETURNING q.last_number - t.n - v_total AS before, t.n AS pending
    ), numbered AS (
      UPDATE batches b SET first_number = h.before + p.upto - p.size + 1, last_number = h.before + p.upto
      FROM pending p, head h WHERE b.id = p.id
      RETURNING b.id
    ), mine AS (
      INSERT INTO batches (stream_id, first_version, size, first_number, last_number)
      SELECT t.x->>'s', v_versions[t.o], v_sizes[t.o],
             h.before + h.pending + sum(v_sizes[t.o]) OVER w - v_sizes[t.o] + 1, h.before + h.pending + sum(v_sizes[t.o]) OVER w
      FROM jsonb_array_elements(p_appends) WITH ORDINALITY AS t(x, o), head h
      WHERE v_sizes[t.o] > 0
      WINDOW w AS (ORDER BY t.o)
      RETURNING 1
    )
    SELECT h.before + h.pending INTO v_head FROM head h;
    IF p_notify THEN
      PERFORM pg_notify(p_channel, 'a');
    END IF;
  END IF;

  RETURN QUERY
  SELECT v_outcomes[i], v_versions[i], v_dups[i], now(),
         CASE WHEN v_sizes[i] > 0 THEN v_head + (SELECT coalesce(sum(z), 0) FROM unnest(v_sizes[1:i - 1]) z) + 1 END
  FROM generate_subscripts(v_outcomes, 1) AS i ORDER BY i;
END
$$;
`;
