/**
 * The shop's domain: what an order request must look like, and the events an order produces.
 * No herald, no HTTP, no SQL here: plain types and validation, easy to test on their own.
 */

/** One line of an order. */
export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  /** Unit price in cents (integers: no floating-point money). */
  readonly priceCents: number;
}

/** A validated `POST /orders` body. */
export interface OrderRequest {
  readonly email: string;
  readonly items: readonly OrderLine[];
}

/** Data of the `OrderPlaced` event (stream `order-<id>`). */
export interface OrderPlaced extends OrderRequest {
  readonly orderId: string;
  readonly totalCents: number;
}

/** Data of the `ConfirmationSent` event, appended by the mailer once the mail provider accepted the mail. */
export interface ConfirmationSent {
  readonly orderId: string;
  readonly messageId: string;
}

/** The stream an order's events are appended to. */
export const orderStream = (orderId: string): string => `order-${orderId}`;

/** A request body that is not a valid order; `field` names the offending field. */
export class InvalidOrderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidOrderError';
  }
}

const MAX_ITEMS = 100;
const MAX_QUANTITY = 1000;
const MAX_PRICE_CENTS = 10_000_000;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A value as an error message shows it: JSON, cut at 60 characters. */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOrderError(field, `${field} must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

function parseLine(value: unknown, index: number): OrderLine {
  const at = `items[${index}]`;
  if (!isRecord(value)) throw new InvalidOrderError(at, `${at} must be an object, got ${show(value)}`);
  const { sku } = value;
  if (typeof sku !== 'string' || sku.trim() === '' || sku.length > 64) {
    throw new InvalidOrderError(`${at}.sku`, `${at}.sku must be a non-empty string of at most 64 characters, got ${show(sku)}`);
  }
  return {
    sku,
    quantity: integerIn(value['quantity'], `${at}.quantity`, 1, MAX_QUANTITY),
    priceCents: integerIn(value['priceCents'], `${at}.priceCents`, 0, MAX_PRICE_CENTS),
  };
}

/**
 * Checks a parsed JSON body: `{ email: string, items: [{ sku, quantity, priceCents }, ...] }`.
 * @throws InvalidOrderError naming the first bad field and its value.
 */
export function parseOrderRequest(body: unknown): OrderRequest {
  if (!isRecord(body)) throw new InvalidOrderError('body', `body must be a JSON object, got ${show(body)}`);
  const { email, items } = body;
  if (typeof email !== 'string' || email.length > 254 || !EMAIL.test(email)) {
    throw new InvalidOrderError('email', `email must be an e-mail address, got ${show(email)}`);
  }
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) {
    throw new InvalidOrderError('items', `items must be an array of 1 to ${MAX_ITEMS} order lines, got ${show(items)}`);
  }
  return { email, items: items.map(parseLine) };
}

/** The order's total in cents. */
export function totalCents(items: readonly OrderLine[]): number {
  return items.reduce((sum, line) => sum + line.quantity * line.priceCents, 0);
}
