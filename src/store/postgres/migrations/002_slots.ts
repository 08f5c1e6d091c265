/**
 * Migration 2: slots, leases and members (several processes running the same handlers, issue 5).
 *
 * A handler's cursor moves to `handler_slots`: one row per slot, each with its own cursor and lease (`owner`,
 * `lease_until` by the database clock, and `epoch`, bumped by every claim and checked by every cursor save).
 * Existing handlers get one slot holding their cursor. `handler_members` lists the live processes per handler.
 */
export const slots = /* sql */ `
ALTER TABLE handlers ADD COLUMN slots integer NOT NULL DEFAULT 1 CHECK (slots >= 1);

CREATE TABLE handler_slots (
  handler_name text NOT NULL REFERENCES handlers (name) ON DELETE CASCADE,
  slot integer NOT NULL CHECK (slot >= 0),
  position bigint NOT NULL CHECK (position >= 0),
  acked bigint[] NOT NULL DEFAULT '{}',
  owner text,
  owner_label text,
  lease_until timestamptz,
  epoch bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (handler_name, slot)
);

INSERT INTO handler_slots (handler_name, slot, position, acked, updated_at)
SELECT name, 0, position, acked, updated_at FROM handlers;

ALTER TABLE handlers DROP COLUMN position, DROP COLUMN acked;

CREATE TABLE handler_members (
  handler_name text NOT NULL REFERENCES handlers (name) ON DELETE CASCADE,
  node_id text NOT NULL,
  label text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (handler_name, node_id)
);
`;
