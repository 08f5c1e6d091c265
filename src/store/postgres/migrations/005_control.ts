/**
 * Migration 5: control requests (issue 16). `herald reset` and `herald dead-letters replay`, and `app.reset` /
 * `app.replayDeadLetter` for a handler that runs in other processes, are carried out by the processes running the
 * handler: the caller inserts a request and notifies `x<name>`; a process takes it (`coordinator`), carries it out
 * and marks it `done` or `failed`. `deadline` (null: none) ends a request nobody finished in time.
 */
export const control = /* sql */ `
CREATE TABLE control_requests (
  id bigserial PRIMARY KEY,
  handler_name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('reset', 'replay')),
  dead_letter_id text,
  to_position bigint CHECK (to_position >= 0),
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
  coordinator text,
  outcome text,
  error text,
  deadline timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX control_requests_open ON control_requests (handler_name, id) WHERE state IN ('pending', 'running');
`;
