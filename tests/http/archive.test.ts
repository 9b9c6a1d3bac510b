import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';

/** GET /editions: the public archive of sent editions, linked from the subscribe page. */
describe('the public archive', () => {
  let h: Harness;

  const cut = async (date: string, article: boolean) => {
    if (article)
      await h.app.intake.ingest(
        { url: `https://news.example.org/${date}`, title: `News of ${date}`, publishedAt: `${date}T12:00:00Z` },
        'admin',
      );
    return h.app.desk.runDue(new Date(`${date}T18:30:05Z`));
  };

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    await h.app.editions.setDraft({ subject: '<b>Budget</b> & bridges', preheader: '' });
    expect(['sending', 'sent']).toContain((await cut('2020-02-24', true))?.status);
    // No articles: held (and skipped once the next cut-off takes its window over).
    expect((await cut('2020-02-25', false))?.status).toBe('held');
    expect(['sending', 'sent']).toContain((await cut('2020-02-26', true))?.status);
    expect((await h.app.editions.get('2020-02-25'))?.status).toBe('skipped');
  });
  afterAll(async () => h?.close());

  it('lists sent editions newest first with their subjects as text, without a login', async () => {
    const response = await h.server.inject({ method: 'GET', url: '/editions' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    const links = [...response.body.matchAll(/<li><a href="\/editions\/([\d-]+)">/g)].map((match) => match[1]);
    expect(links).toEqual(['2020-02-26', '2020-02-24']);
    expect(response.body).toContain('&lt;b&gt;Budget&lt;/b&gt; &amp; bridges');
    expect(response.body).not.toContain('<b>Budget</b>');
  });

  it('is linked from the subscribe page, and each entry opens the edition', async () => {
    const subscribePage = (await h.server.inject({ method: 'GET', url: '/' })).body;
    expect(subscribePage).toContain('<a href="/editions">Read past editions</a>');
    expect(subscribePage).toContain('Every evening at 18:30 UTC:');
    const edition = await h.server.inject({ method: 'GET', url: '/editions/2020-02-24' });
    expect(edition.statusCode).toBe(200);
    expect(edition.body).toContain('News of 2020-02-24');
    expect((await h.server.inject({ method: 'GET', url: '/editions/2020-02-25' })).statusCode).toBe(404);
  });

  it('links only to pages that exist (none to `#`): its Unsubscribe and Preferences to one that says where the reader’s own links are', async () => {
    const edition = (await h.server.inject({ method: 'GET', url: '/editions/2020-02-24' })).body;
    const links = [...edition.matchAll(/<a [^>]*href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((match) => ({
      href: match[1]!,
      text: match[2]!,
    }));
    // Besides the articles: the masthead's "View in browser", and the footer's site, Unsubscribe, Preferences, "View in browser".
    const ours = links.filter((link) => !link.href.startsWith('https://news.example.org/'));
    expect(ours.map((link) => link.text)).toEqual([
      'View in browser',
      'digest.example.test',
      'Unsubscribe with one click',
      'Preferences',
      'View in browser',
    ]);
    for (const { href, text } of links) {
      expect(href, text).not.toBe('');
      expect(href, text).not.toMatch(/^#/);
    }
    for (const { href, text } of ours) {
      const response = await h.server.inject({
        method: 'GET',
        url: new URL(href, 'https://digest.example.test/editions/2020-02-24').pathname,
      });
      expect(response.statusCode, `${text}: ${href}`).toBe(200);
      expect(response.headers['content-type'], href).toContain('text/html');
    }
    expect(ours.filter((link) => /Unsubscribe|Preferences/.test(link.text)).map((link) => link.href)).toEqual([
      '/manage-subscription',
      '/manage-subscription',
    ]);

    const manage = await h.server.inject({ method: 'GET', url: '/manage-subscription' });
    expect(manage.body).toContain('<title>Manage your subscription · Evening Digest</title>');
    expect(manage.body).toContain('<h1>Your own links are in your email</h1>');
    expect(manage.body).toContain('use the links at the bottom of any edition of Evening Digest in your inbox');
    expect(manage.body).toContain('<a href="/">Not subscribed yet? Subscribe to Evening Digest</a>');
    expect(manage.body).not.toContain('token=');
  });
});
