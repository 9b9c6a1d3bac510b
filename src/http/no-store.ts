import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A route hook for pages that hold a personal link token or a reader's data (their own page, a dev
 * mailbox full of links): no browser cache, shared computer or proxy may keep a copy.
 */
export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store');
}
