import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

/** Serves the fixture feeds (and any `documents` a test made, by name) over real HTTP, as a news site would. */
export async function startFeedServer(
  documents: Record<string, string> = {},
): Promise<{ url: (file: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const file = (request.url ?? '/').slice(1);
    const body = Object.hasOwn(documents, file)
      ? documents[file]
      : /^sample-feed\.(rss|atom)$/.test(file)
        ? readFileSync(join(FIXTURES, file))
        : undefined;
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.endsWith('atom') ? 'application/atom+xml' : 'application/rss+xml' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: (file) => `http://127.0.0.1:${port}/${file}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
