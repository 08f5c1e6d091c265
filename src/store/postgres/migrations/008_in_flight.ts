/**
 * Migration 8: events that crash the process (issue 14, the handler option `crashLimit`).
 *
 * `handler_slots.inflight`: the note of the events a slot's run has handed over (or is about to) and whose cursor
 * save it has not made yet, as a multirange of event numbers (a page read from `$all` by a one-slot handler is one
 * range, so the note stays a few bytes however many events a page holds), written before they are handed over (one write per page read) and cleared when the run
 * ends on purpose. A claim that finds a note (the run never cleared it: its process died) counts a crash for each
 * noted event the cursor has not passed into `suspects` (`{"<event number>": [crashes, alone]}`) and clears the note;
 * `inflight_alone`: the last note was written while the run had nothing else in flight (a crash is then the event's own).
 * `dead_letters.error_code`: the string code of the error a dead letter records (`'POISON_EVENT'` for a parked event).
 */
export const inFlight = /* sql */ `
ALTER TABLE handler_slots ADD COLUMN inflight int8multirange NOT NULL DEFAULT '{}', ADD COLUMN inflight_alone boolean NOT NULL DEFAULT false,
  ADD COLUMN suspects jsonb NOT NULL DEFAULT '{}';
ALTER TABLE dead_letters ADD COLUMN error_code text;
`;
