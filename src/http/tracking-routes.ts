import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';

/** A transparent 1×1 GIF. */
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const EDITION_ID = /^[\w-]{1,40}$/;

/**
 * The open pixel and the click redirects of tracked editions (TRACKING). A redirect only ever goes
 * to a link stored with the edition, by its index, so these routes cannot be used to send people
 * elsewhere; a forged or missing reader token still reaches the article, it is just not counted.
 */
export function registerTrackingRoutes(server: FastifyInstance, app: App): void {
  server.get('/t/:edition/open/:token', async (request, reply) => {
    const { edition, token } = request.params as { edition: string; token: string };
    if (EDITION_ID.test(edition)) await app.engagement.open(edition, token);
    return reply
      .header('cache-control', 'no-store, private')
      .header('cross-origin-resource-policy', 'cross-origin')
      .type('image/gif')
      .send(PIXEL);
  });

  server.get('/t/:edition/:link/:token', async (request, reply) => {
    const { edition, link, token } = request.params as { edition: string; link: string; token: string };
    const url =
      EDITION_ID.test(edition) && /^\d{1,4}$/.test(link)
        ? await app.engagement.click(edition, Number(link), token)
        : null;
    if (!url) return reply.code(404).type('text/plain; charset=utf-8').send('This link does not exist.');
    // Links are stored in their WHATWG form; re-serializing also covers ones stored before that was so.
    return reply.header('cache-control', 'no-store, private').redirect(new URL(url).href, 302);
  });
}
