/**
 * Migration 6: the session a member keeps open, so that a process restarting under the same `node.label` can tell
 * at once whether the member it replaces is dead (issue 14).
 *
 * Every heartbeat records the backend pid and `backend_start` of the member's own LISTEN session (a connection it
 * keeps open for as long as it runs). When a process dies on its machine, the kernel closes its sockets and
 * PostgreSQL ends that session at once, so the pair disappears from `pg_stat_activity`; `backend_start` guards
 * against a pid reused by a later session. Both are null when the member has no such session (behind a
 * transaction-mode pooler without a direct `listenUrl`): then only its lease tells.
 */
export const memberSessions = /* sql */ `
ALTER TABLE handler_members ADD COLUMN backend_pid integer, ADD COLUMN backend_start timestamptz;
CREATE INDEX handler_members_label ON handler_members (label);
`;
