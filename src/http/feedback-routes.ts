import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { feedbackJob } from '../feedback/feedback-loop.ts';
import { type Relay, RELAYS } from '../feedback/relays.ts';
import { FEEDBACK_JOB_OPTIONS } from '../delivery/queues.ts';
import { feedbackWebhooks } from '../platform/metrics.ts';

/**
 * SendGrid posts its events in batches of up to ~768 KB; SES, Mailgun and Postmark send one report
 * per request, with at most the returned message's headers (Postmark: the bounce itself).
 */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * POST /feedback/ses, /feedback/sendgrid, /feedback/mailgun, /feedback/postmark: each relay's own
 * format, proven authentic by its receiver (signature or credentials) before anything is read, then
 * queued and answered 202 at once — relays retry a slow webhook, and a retry is only a duplicate.
 * The body is kept as bytes: SendGrid signs them exactly as sent.
 */
export function registerFeedbackRoutes(server: FastifyInstance, app: App): void {
  void server.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) =>
      done(null, body),
    );
    for (const relay of RELAYS) {
      scope.post(`/feedback/${relay}`, { bodyLimit: WEBHOOK_BODY_LIMIT }, async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const received = await app.relays.receive(relay, body, request.headers);
        if (!received.ok) {
          count(relay, received.status);
          if (received.status !== 404)
            request.log.warn({ relay, status: received.status, reason: received.reason }, 'feedback webhook refused');
          return reply.code(received.status).send({ error: received.reason });
        }
        if (received.events.length > 0)
          await app.transactionalQueue.add(
            'feedback',
            feedbackJob(received.events, { by: 'sender' }),
            FEEDBACK_JOB_OPTIONS,
          );
        if (received.subscribeUrl)
          await app.transactionalQueue.add('sns-confirm', { subscribeUrl: received.subscribeUrl });
        count(relay, 202);
        return reply
          .code(202)
          .send({ accepted: received.events.length, ...(received.subscribeUrl ? { confirming: true } : {}) });
      });
    }
  });
}

function count(relay: Relay, status: number): void {
  feedbackWebhooks.inc({ relay, status: String(status) });
}
