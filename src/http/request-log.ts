import type { FastifyInstance } from 'fastify';

/** Query parameters that carry a credential: a reader's link token, or a console form token. */
const SECRET_PARAMS = new Set(['token', '_csrf']);

/** What a request's log line says about it; `remoteAddress` is the client the rate limits count (with TRUST_PROXY, the address the proxy saw). */
interface LoggedRequest {
  method: string;
  url: string;
  remoteAddress?: string;
}

/**
 * The HTTP logger's serializers. Fastify's own `req` serializer reads a Fastify request (`req.ip`),
 * so it would drop the client's address from the line below, which is already what may be logged.
 */
export const requestLogSerializers = { req: (req: LoggedRequest): LoggedRequest => req };

/**
 * One log line per request, written by us instead of Fastify's default so that logs never hold a
 * live credential (the tokens of confirm, unsubscribe and preferences links) and never tie a reader
 * to a read: tracked links and the open pixel are logged without their token and without the IP.
 */
export function logRequests(server: FastifyInstance): void {
  server.addHook('onResponse', async (request, reply) => {
    const tracking = isTracking(request.url);
    const req: LoggedRequest = {
      method: request.method,
      url: redactUrl(request.url),
      ...(tracking ? {} : { remoteAddress: request.ip }),
    };
    request.log.info(
      {
        req,
        res: { statusCode: reply.statusCode },
        responseTime: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
  });
}

function isTracking(url: string): boolean {
  return url.startsWith('/t/');
}

/** The URL as it may be logged: token values and tracking paths replaced. */
export function redactUrl(url: string): string {
  if (isTracking(url)) return url.replace(/^(\/t\/[^/?]*)\/.*$/, '$1/[redacted]');
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = new URLSearchParams(url.slice(query + 1));
  for (const name of [...params.keys()]) if (SECRET_PARAMS.has(name.toLowerCase())) params.set(name, '[redacted]');
  return `${url.slice(0, query)}?${params.toString().replace(/%5Bredacted%5D/g, '[redacted]')}`;
}
