import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mjmlCompiles } from '../src/platform/metrics.ts';
import { startFeedServer } from './support/feed-server.ts';
import { confirmByLink, type Harness, linkIn, startHarness, transactionalIdle, waitFor } from './support/harness.ts';

/** A header as it was sent (mailparser turns List-* headers into objects). */
function rawHeader(mail: ParsedMail, name: string): string {
  const line = mail.headerLines.find((header) => header.key === name)?.line ?? '';
  return line.slice(line.indexOf(':') + 1).trim();
}

/**
 * The whole story of issue #2 against a real Redis and a real SMTP server: readers subscribe and
 * confirm, articles arrive from feeds and the admin API, the 18:30 edition is assembled, rendered
 * once and delivered exactly once to every confirmed reader, and one-click unsubscribe works.
 */
describe('the daily pipeline, end to end', () => {
  let h: Harness;
  let feeds: Awaited<ReturnType<typeof startFeedServer>>;
  const readers = ['alice@example.test', 'bob@example.test', 'Dave.Smith@Example.TEST', 'carol@example.test'];

  const digestsTo = (address: string) => h.sink.to(address).filter((message) => message.raw.includes('X-Edition:'));
  const compiles = async () =>
    (await mjmlCompiles.get()).values.find((value) => value.labels.template === 'digest')?.value ?? 0;
  const runScheduler = async (at: string) => {
    const edition = await h.app.desk.runDue(new Date(at));
    if (!edition) throw new Error(`no edition due at ${at}`);
    await waitFor(
      async () => (await h.app.deliveries.progress(edition.id))?.finished,
      `edition ${edition.id} delivered`,
    );
    return edition;
  };

  beforeAll(async () => {
    feeds = await startFeedServer();
    h = await startHarness({
      env: { FEEDS: `${feeds.url('sample-feed.rss')} ${feeds.url('sample-feed.atom')}`, DIGEST_FRESH_HOURS: '6' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await feeds?.close();
  });

  it('subscribes readers and sends each one confirmation email', async () => {
    for (const [index, email] of readers.entries()) {
      const asForm = index === 2;
      const response = await h.server.inject({
        method: 'POST',
        url: '/subscribe',
        ...(asForm
          ? {
              payload: `email=${encodeURIComponent(email)}`,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
            }
          : { payload: { email, name: index === 0 ? 'Alice' : undefined } }),
      });
      expect(response.statusCode).toBe(202);
    }
    await waitFor(async () => h.sink.messages.length >= 4, 'four confirmation emails');
    // The domain is stored lower-cased, the local part as typed.
    expect(h.sink.messages.map((message) => message.to[0]).sort()).toEqual(
      ['Dave.Smith@example.test', 'alice@example.test', 'bob@example.test', 'carol@example.test'].sort(),
    );
  });

  it('confirms three of them through the link in their email', async () => {
    for (const email of ['alice@example.test', 'bob@example.test', 'Dave.Smith@example.test']) {
      const [message] = h.sink.to(email);
      const parsed = await h.sink.parsed(message!);
      expect(parsed.subject).toContain('confirm');
      const link = linkIn(parsed.text ?? '', 'https://digest.example.test/confirm?token=');
      const response = await confirmByLink(h, link);
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('You are subscribed');
    }
    expect((await h.app.subscribers.countsByState()).confirmed).toBe(3);
    // Each confirmed reader is welcomed once; the one who did not confirm hears nothing more.
    const welcomes = () =>
      h.sink.messages
        .filter((message) => message.raw.includes('Subject: Welcome to Evening Digest'))
        .map((message) => message.to[0]);
    await waitFor(async () => welcomes().length >= 3, 'three welcome emails');
    await transactionalIdle(h);
    expect(welcomes().sort()).toEqual(['Dave.Smith@example.test', 'alice@example.test', 'bob@example.test'].sort());
    expect(h.sink.to('carol@example.test')).toHaveLength(1);
  });

  it('takes articles from the fixture feeds and the admin API', async () => {
    const poll = await h.server.inject({ method: 'POST', url: '/admin/feeds/poll', headers: h.admin });
    expect(poll.statusCode).toBe(200);
    const [rss, atom] = poll.json().feeds;
    expect(rss.lastError).toBeNull();
    expect(rss.lastReport).toMatchObject({
      items: 7,
      added: 5,
      duplicates: 1,
      rejected: [{ reason: 'item has no link' }],
    });
    expect(atom.lastReport).toMatchObject({ items: 3, added: 3 });

    const response = await h.server.inject({
      method: 'POST',
      url: '/admin/articles',
      headers: h.admin,
      payload: {
        url: 'https://news.example.org/live/a-1',
        title: '<script>alert("x")</script>Live: vote count & "recount" begins',
        summary: '<img src=x onerror=alert(1)>Polls closed at <b>18:00</b>. <a href="javascript:alert(1)">details</a>',
        section: 'Top stories',
        publishedAt: '2020-02-25T12:00:00Z',
        selected: true,
        position: 1,
      },
    });
    expect(response.statusCode).toBe(201);
  });

  let first: ParsedMail;

  it('at 18:30 delivers the edition exactly once to every confirmed reader, compiling MJML once', async () => {
    const before = await compiles();
    const edition = await runScheduler('2020-02-25T18:30:05Z');
    expect(edition.id).toBe('2020-02-25');
    expect(await compiles()).toBe(before + 1);

    for (const email of ['alice@example.test', 'bob@example.test', 'Dave.Smith@example.test'])
      expect(digestsTo(email)).toHaveLength(1);
    expect(digestsTo('carol@example.test')).toHaveLength(0); // never confirmed
    expect(h.sink.messages.filter((message) => message.raw.includes('X-Edition:'))).toHaveLength(3);

    const progress = await h.app.deliveries.progress(edition.id);
    expect(progress?.counts).toMatchObject({ queued: 0, sending: 0, sent: 3, failed: 0, deferred: 0 });
    first = await h.sink.parsed(digestsTo('alice@example.test')[0]!);
  });

  it('sends well-formed mail: headers, both alternatives, personal greeting', () => {
    expect(rawHeader(first, 'list-unsubscribe')).toMatch(
      /^<https:\/\/digest\.example\.test\/unsubscribe\?token=[\w.-]+>$/,
    );
    expect(rawHeader(first, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(rawHeader(first, 'list-id')).toBe('Evening Digest <digest.digest.example.test>');
    expect(first.messageId).toMatch(/@digest\.example\.test>$/);
    expect(first.date).toBeInstanceOf(Date);
    expect(first.from?.value[0]?.address).toBe('digest@example.test');
    expect(first.text).toContain('Good evening, Alice');
    expect(first.html).toContain('Good evening, Alice');
    // What the editor typed is text: shown as typed, never run.
    expect(first.subject).toBe('Evening Digest: <script>alert("x")</script>Live: vote count & "recount" begins');
  });

  it('keeps hostile article text inert and only the window’s articles', () => {
    const html = String(first.html);
    expect(html).not.toMatch(/<script|<img src=x|<b>18|<a href="javascript:/i);
    expect(html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;Live: vote count &amp; &quot;recount&quot; begins',
    );
    expect(html).toContain('&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;Polls closed at &lt;b&gt;18:00&lt;/b&gt;.');
    // The plain text is wrapped at 78 characters (at spaces only): read it as one line.
    const text = String(first.text).replace(/\s+/g, ' ');
    expect(text).toContain(
      '<img src=x onerror=alert(1)>Polls closed at <b>18:00</b>. <a href="javascript:alert(1)">details</a>',
    );
    // Feed HTML is reduced to text.
    expect(text).toContain('Russia has dismissed the idea of a ceasefire');
    // Editors' choice first, then the rest by recency.
    expect(html.indexOf('vote count')).toBeLessThan(html.indexOf('Russia rejects truce'));
    expect(html).toContain('Civilians paying the price');
    expect(html).not.toContain('Evening briefing after the cut-off'); // 18:45: next window
    expect(html).not.toContain('Life under siege'); // two days earlier
    // The feed repeats an item under the same guid: it is stored, and sent, once, with its first text.
    expect(first.text?.match(/Russia rejects truce/g)).toHaveLength(1);
    expect(text).toContain('Russia has dismissed the idea of a ceasefire');
    expect(text).not.toContain('Duplicate of the first item');
  });

  it('honours one-click unsubscribe (RFC 8058) and leaves the reader out of the next edition', async () => {
    const url = rawHeader(first, 'list-unsubscribe').slice(1, -1).replace('https://digest.example.test', '');
    const response = await h.server.inject({
      method: 'POST',
      url,
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.statusCode).toBe(200);
    const id = await h.app.subscribers.findIdByEmail('alice@example.test');
    expect((await h.app.subscribers.get(id!))?.state).toBe('unsubscribed');

    await h.app.intake.ingest(
      { url: 'https://news.example.org/next-day', title: 'Next day story', publishedAt: '2020-02-26T10:00:00Z' },
      'admin',
    );
    const before = await compiles();
    const next = await runScheduler('2020-02-26T18:30:02Z');
    expect(await compiles()).toBe(before + 1);
    expect(next.windowStart.toISOString()).toBe('2020-02-25T18:30:00.000Z');
    expect(digestsTo('alice@example.test')).toHaveLength(1);
    expect(digestsTo('bob@example.test')).toHaveLength(2);
    expect(digestsTo('Dave.Smith@example.test')).toHaveLength(2);
    const second = await h.sink.parsed(digestsTo('bob@example.test')[1]!);
    expect(second.html).toContain('Evening briefing after the cut-off');
    expect(second.html).toContain('Next day story');
    expect(second.html).not.toContain('Russia rejects truce');
  });
});
