import { init } from './001_init.ts';
import { slots } from './002_slots.ts';
import { appendNumbered } from './003_append_numbered.ts';
import { typeFilter } from './004_type_filter.ts';
import { control } from './005_control.ts';
import { memberSessions } from './006_member_sessions.ts';
import { eventNumbers } from './007_event_numbers.ts';
import { inFlight } from './008_in_flight.ts';

/** One schema change, applied once, in `version` order, and recorded in the `migrations` table. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Every migration, oldest first. They are TypeScript string modules rather than `.sql` files read at run
 * time because the package is built with plain `tsc`, which would not copy `.sql` files next to the
 * compiled code; a string module travels with it.
 */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'init', sql: init },
  { version: 2, name: 'slots', sql: slots },
  { version: 3, name: 'append_numbered', sql: appendNumbered },
  { version: 4, name: 'type_filter', sql: typeFilter },
  { version: 5, name: 'control', sql: control },
  { version: 6, name: 'member_sessions', sql: memberSessions },
  { version: 7, name: 'event_numbers', sql: eventNumbers },
  { version: 8, name: 'in_flight', sql: inFlight },
];
