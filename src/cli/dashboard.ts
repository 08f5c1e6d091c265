/** `herald dashboard`: serves the status page until interrupted. */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { statusPage } from '../ops/status-page.ts';
import { UsageError } from './args.ts';
import type { CommandContext } from './commands.ts';

/** Serves the page on `--host` (127.0.0.1) and `--port` (4680); resolves with 0 once interrupted. */
export async function runDashboard({ parsed, store, io, interrupted }: CommandContext): Promise<number> {
  const portText = typeof parsed.values.port === 'string' ? parsed.values.port : '4680';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65_535) throw new UsageError(`dashboard: --port must be a port number (0-65535), got "${portText}"`);
  const host = typeof parsed.values.host === 'string' ? parsed.values.host : '127.0.0.1';
  const token = typeof parsed.values.token === 'string' ? parsed.values.token : randomBytes(18).toString('base64url');
  if (token.length < 16) throw new UsageError('dashboard: --token must be at least 16 characters');
  const server = createServer(statusPage({ store, token }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  io.out(`herald status page on http://${shown}:${bound}/`);
  io.out(`token: ${token}`);
  io.out(`open http://${shown}:${bound}/#token=${token} to act (replay, delete, reset)`);
  await interrupted;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return 0;
}
