// Another web site for the cross-site tests: a tiny HTTP server on 127.0.0.2 (loopback,
// but another host, so another origin and another site than the shop on 127.0.0.1).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtherSite {
  /** e.g. http://127.0.0.2:41234 */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `pages` (path -> HTML) and 404 for anything else. */
export async function startOtherSite(pages: Record<string, string>): Promise<OtherSite> {
  const server = createServer((req, res) => {
    const page = pages[req.url ?? ''];
    res.writeHead(page === undefined ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page ?? 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.2', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.2:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
