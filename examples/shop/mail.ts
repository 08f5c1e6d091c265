/**
 * A fake mail provider standing in for SMTP or an HTTP mail API. Swap it for the real client in your project:
 * the mailer handler only needs `send(mail)` to resolve with a message id or to throw.
 *
 * Controllable failures, so the retry and dead-letter paths can be seen (and tested):
 * - an address whose local part starts with `fail` (`fail@example.com`) is always rejected;
 * - one starting with `flaky` (`flaky@example.com`) is rejected twice, then accepted.
 */
import { randomUUID } from 'node:crypto';

/** One mail to send. */
export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** Lets a provider drop a resent mail (most real APIs take one): the mailer passes the event id. */
  readonly idempotencyKey: string;
}

/** What the mailer needs from a mail provider. */
export interface MailProvider {
  /** Resolves with the provider's message id; throws when the mail was not accepted. */
  send(mail: Mail): Promise<string>;
}

/** The provider refused a mail. */
export class MailRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailRejectedError';
  }
}

/** A provider that "sends" by logging, and fails on `fail…@` and (twice) `flaky…@` addresses. */
export function fakeMailProvider(log: (line: string) => void = console.log): MailProvider {
  const sent = new Map<string, string>();
  const attempts = new Map<string, number>();
  return {
    async send(mail) {
      const local = mail.to.slice(0, mail.to.indexOf('@')).toLowerCase();
      const attempt = (attempts.get(mail.idempotencyKey) ?? 0) + 1;
      attempts.set(mail.idempotencyKey, attempt);
      if (local.startsWith('fail')) throw new MailRejectedError(`mail provider rejected ${mail.to} (attempt ${attempt})`);
      if (local.startsWith('flaky') && attempt <= 2) throw new MailRejectedError(`mail provider timed out for ${mail.to} (attempt ${attempt})`);
      const known = sent.get(mail.idempotencyKey);
      if (known !== undefined) return known; // a resend of a mail already accepted: not sent twice
      const messageId = `msg-${randomUUID()}`;
      sent.set(mail.idempotencyKey, messageId);
      log(`mail      sent "${mail.subject}" to ${mail.to} (${messageId})`);
      return messageId;
    },
  };
}
