/**
 * Child process of the strong-dispatch scenario: runs one `consistency: 'strong'` no-op handler on
 * `<url> <schema> <handler name>`, prints `ready` once it is live, and stops when its stdin closes.
 */
import { createApp, defineHandler, postgresStore } from '../../src/index.ts';
import { connect } from '../db.ts';

const [url, schema, name] = process.argv.slice(2);
if (url === undefined || schema === undefined || name === undefined) {
  console.error('usage: strong-handler.ts <url> <schema> <handler name>');
  process.exit(2);
}

const sql = connect(url, 4);
const app = createApp({ store: postgresStore({ sql, schema }), name: 'remote' });
await app.start([defineHandler({ name, consistency: 'strong', startFrom: 'current', handle: () => undefined })]);
console.log('ready');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.stop({ timeoutMs: 5000 });
  await sql.end({ timeout: 5 });
  process.exit(0);
}
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.on('SIGTERM', () => void stop());
process.stdin.resume();
