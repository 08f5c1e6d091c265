/** A process taking part in running handlers: a unique id per app run and a readable label. */
export interface NodeIdentity {
  /** Unique per app run (a ULID); orders members for slot assignment. */
  readonly id: string;
  /** For people: host and pid by default. */
  readonly label: string;
}
