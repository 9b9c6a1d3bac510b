import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';

/** GET /editions: the public archive of sent editions, linked from the subscribe page. */
describe('the public archive', () => {
  let h: Harness;

  const cut = async (date: string, article: boolean) => {
    if (article) await h.app.intake.ingest({ url: `https://news.example.org/${date}`, title: `News of ${date}`, publishedAt: `${date}T12:00:00Z` }, 'admin');
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
});
