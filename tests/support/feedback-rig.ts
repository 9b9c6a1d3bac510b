import type { Harness } from './harness.ts';
import { waitFor } from './harness.ts';
import type { ReceivedMessage } from './smtp-sink.ts';

/** The day of the edition the feedback tests send; its id. */
export const FEEDBACK_EDITION = '2020-02-25';

/**
 * Confirmed readers, and an edition really sent to them through the SMTP sink: what reports are
 * then written about. Answers each reader's copy as the sink received it (envelope and raw text).
 */
export async function sendEditionTo(h: Harness, readers: readonly string[]): Promise<Record<string, ReceivedMessage>> {
  for (const email of readers) {
    const { id } = await h.app.subscribers.create(email, { email });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  }
  await h.app.intake.ingest(
    {
      url: 'https://news.example.org/feedback',
      title: 'What comes back',
      publishedAt: `${FEEDBACK_EDITION}T12:00:00Z`,
    },
    'admin',
  );
  const edition = await h.app.desk.runDue(new Date(`${FEEDBACK_EDITION}T18:30:05Z`));
  if (edition?.id !== FEEDBACK_EDITION) throw new Error(`expected edition ${FEEDBACK_EDITION}, got ${edition?.id}`);
  await waitFor(async () => (await h.app.deliveries.progress(FEEDBACK_EDITION))?.finished, 'the edition');
  const sent: Record<string, ReceivedMessage> = {};
  for (const email of readers) {
    const copy = h.sink.to(email).find((message) => message.raw.includes('X-Edition:'));
    if (!copy) throw new Error(`no edition for ${email}`);
    sent[email] = copy;
  }
  return sent;
}

/** The harness's HTTP server on a loopback port, for requests over real HTTP; answers its base URL. */
export async function listenOnLoopback(h: Harness): Promise<string> {
  await h.server.listen({ host: '127.0.0.1', port: 0 });
  const address = h.server.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}
