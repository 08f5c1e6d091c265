/**
 * Migration 3: `append_numbered`, an append and the sequencer run after it in one database call.
 *
 * The post-commit design stays: the procedure runs `append_events` in its own transaction, COMMITs, then runs
 * `sequence_batches` in a second transaction, exactly what the store did in two round trips. A procedure may
 * COMMIT only without a `SET` clause, so instead of `SET search_path FROM CURRENT` its body names the schema
 * it was created in (written in by `format`), and only works when CALLed outside a transaction block.
 * INOUT parameters (not OUT) keep it to PostgreSQL 11's syntax.
 */
export const appendNumbered = /* sql */ `
DO $migration$
BEGIN
  EXECUTE format($create$
    CREATE PROCEDURE append_numbered(
      p_stream_id text,
      p_expected text,
      p_expected_version bigint,
      p_events jsonb,
      p_max integer,
      p_channel text,
      INOUT outcome text DEFAULT NULL,
      INOUT version bigint DEFAULT NULL,
      INOUT batch_id bigint DEFAULT NULL,
      INOUT duplicates jsonb DEFAULT NULL,
      INOUT created_at timestamptz DEFAULT NULL,
      INOUT first_number bigint DEFAULT NULL
    )
    LANGUAGE plpgsql AS $body$
    BEGIN
      SELECT a.outcome, a.version, a.batch_id, to_jsonb(a.duplicates), a.created_at
      INTO outcome, version, batch_id, duplicates, created_at
      FROM %1$I.append_events(p_stream_id, p_expected, p_expected_version, p_events, NULL) a;
      IF batch_id IS NULL THEN
        RETURN;
      END IF;
      COMMIT;
      -- first_number stays NULL if this run stopped at p_max batches before reaching ours.
      SELECT s.wanted_numbers[1] INTO first_number FROM %1$I.sequence_batches(p_max, ARRAY[batch_id], p_channel) s;
    END
    $body$
  $create$, current_schema());
END
$migration$;
`;
