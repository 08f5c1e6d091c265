/**
 * Queries of the in-flight notes of slots (migration 8, handler option `crashLimit`): one statement each, fenced by
 * the lease epoch like a cursor save, locking the slot rows in slot order first (see sql/slots.ts).
 */
import type { ISql } from 'postgres';
import type { InFlightNote } from '../../types.ts';

/** `{[1,4),[7,8)}`: event numbers as an `int8multirange` literal, consecutive numbers merged into one range. */
export function multirangeOf(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    const low = sorted[i] as number;
    let high = low;
    while (i + 1 < sorted.length && sorted[i + 1] === high + 1) high = sorted[++i] as number;
    ranges.push(`[${low},${high + 1})`);
    i++;
  }
  return `{${ranges.join(',')}}`;
}

/** The highest slot number given (-1 for none), checked against the slot count inside each statement. */
const highest = (slots: readonly number[]): number => Math.max(-1, ...slots);

/**
 * Adds each note's events to its slot's note where the node holds the slot under the note's epoch, dropping noted
 * events at or below the slot's cursor position. Notes nothing when a slot number is outside the handler's slots. Returns the slot
 * count (null for an unknown handler) and the slots noted.
 */
export async function noteInFlight(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; notes: readonly InFlightNote[] },
): Promise<{ slotCount: number | null; noted: number[] }> {
  const s = db(schema);
  const input = JSON.stringify(args.notes.map(({ slot, epoch, events, alone }) => ({ slot, epoch, events: multirangeOf(events), alone: alone === true })));
  const [row] = await db<{ slot_count: number | null; noted: number[] }[]>`
    with h as (
      select slots from ${s}.handlers where name = ${args.name}::text
    ), input as (
      select * from jsonb_to_recordset(${input}::text::jsonb) as i(slot int, epoch bigint, events text, alone boolean)
    ), held as (
      select c.slot from ${s}.handler_slots c join input i on i.slot = c.slot
      where c.handler_name = ${args.name}::text and c.owner = ${args.nodeId}::text and c.epoch = i.epoch
        and (select slots from h) > ${highest(args.notes.map((note) => note.slot))}::int
      order by c.slot for update of c
    ), noted as (
      -- Noted events at or below the cursor's position are dropped (those acknowledged above it, at the next claim).
      update ${s}.handler_slots c
      set inflight = (c.inflight + i.events::int8multirange) - int8multirange(int8range(null, c.position, '(]')), inflight_alone = i.alone
      from input i, held
      where c.handler_name = ${args.name}::text and c.slot = i.slot and held.slot = i.slot
        and c.owner = ${args.nodeId}::text and c.epoch = i.epoch
      returning c.slot
    )
    select (select slots from h) as slot_count, coalesce((select jsonb_agg(slot) from noted), '[]') as noted`;
  return { slotCount: row?.slot_count ?? null, noted: row?.noted ?? [] };
}

/** Clears the notes of the slots the node holds under the given epochs (a run that ends on purpose). */
export async function clearInFlight(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; slots: readonly { readonly slot: number; readonly epoch: number }[] },
): Promise<void> {
  const s = db(schema);
  const input = JSON.stringify(args.slots.map(({ slot, epoch }) => ({ slot, epoch })));
  await db`
    with input as (
      select * from jsonb_to_recordset(${input}::text::jsonb) as i(slot int, epoch bigint)
    ), held as (
      select c.slot from ${s}.handler_slots c join input i on i.slot = c.slot
      where c.handler_name = ${args.name}::text and c.owner = ${args.nodeId}::text and c.epoch = i.epoch and c.inflight <> '{}'
      order by c.slot for update of c
    )
    update ${s}.handler_slots c set inflight = '{}', inflight_alone = false
    from held where c.handler_name = ${args.name}::text and c.slot = held.slot`;
}
