import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WORKSPACE_ROOT } from '@evt/testing';

/** A web site of our own on its own origin: the pages that load the SDKs, and the SDK files they load. */
export interface Site {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `scripts` (URL path → file under the workspace root, read once) and whatever `render`
 * answers for any other path (HTML); 404 for the rest.
 */
export async function startSite(host: string, scripts: Record<string, string>, render: (url: URL) => string | undefined): Promise<Site> {
  const files = new Map(
    Object.entries(scripts).map(([urlPath, file]) => {
      const absolute = path.join(WORKSPACE_ROOT, file);
      if (!existsSync(absolute)) throw new Error(`${absolute} does not exist: are the browser SDKs installed (npm ci)?`);
      return [urlPath, readFileSync(absolute)];
    }),
  );
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    const script = files.get(url.pathname);
    const html = script ? undefined : render(url);
    if (script) {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (html !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('could not read the site port');
  return {
    origin: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
