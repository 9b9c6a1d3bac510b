import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminSessions } from '../../src/admin/sessions.ts';
import { browserView } from '../../src/editions/render.ts';
import { ADMIN_TOKEN, type Harness, publishedForToday, startHarness, waitFor } from '../support/harness.ts';

const EDITION = '2020-02-25';
const ARTICLES = ['https://news.example.org/budget?x=1&y=2', 'https://news.example.org/bridge'];

/** Parses one reader's edition: the tracked links and pixel of the HTML, and the plain text. */
async function editionOf(h: Harness, address: string) {
  const message = h.sink.to(address).find((received) => received.raw.includes('X-Edition:'));
  const mail = await h.sink.parsed(message!);
  const html = String(mail.html);
  const paths = (pattern: RegExp) => [
    ...new Set([...html.matchAll(pattern)].map((match) => match[1]!.replace('https://digest.example.test', ''))),
  ];
  return {
    html,
    text: mail.text ?? '',
    clicks: paths(/href="(https:\/\/digest\.example\.test\/t\/[^"]+)"/g),
    pixel: paths(/<img src="(https:\/\/digest\.example\.test\/t\/[^"]+)"/g)[0],
  };
}

/** The console's clicks table, row by row: link, readers who clicked, all clicks. */
function linkRows(page: string) {
  return [
    ...page.matchAll(/<tr><td>(https:\/\/news\.example\.org\/[^<]*)<\/td><td>(\d+)<\/td><td>(\d+)<\/td><\/tr>/g),
  ].map((match) => ({ url: match[1], readers: Number(match[2]), clicks: Number(match[3]) }));
}

async function sendEdition(h: Harness) {
  for (const email of ['ann@example.test', 'ben@example.test']) {
    const { id } = await h.app.subscribers.create(email, { email });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
  }
  for (const [index, url] of ARTICLES.entries()) {
    await h.app.intake.ingest(
      { url, title: `Story ${index}`, publishedAt: `${EDITION}T1${index}:00:00Z`, selected: true, position: index + 1 },
      'admin',
    );
  }
  await h.app.desk.runDue(new Date(`${EDITION}T18:30:05Z`));
  await waitFor(async () => (await h.app.deliveries.progress(EDITION))?.finished, 'the edition');
}

/** TRACKING=true: opens and clicks counted per edition, anonymously; off by default. */
describe('open and click tracking', () => {
  let h: Harness;
  const get = (url: string) => h.server.inject({ method: 'GET', url });
  const adminGet = (url: string) => h.server.inject({ method: 'GET', url, headers: h.admin });

  beforeAll(async () => {
    h = await startHarness({ env: { TRACKING: 'true' } });
    await sendEdition(h);
  });
  afterAll(async () => h?.close());

  it('routes the HTML article links and an open pixel through /t/, and leaves the text, unsubscribe and browser links alone', async () => {
    const ann = await editionOf(h, 'ann@example.test');
    expect(ann.clicks).toHaveLength(2);
    // The token is opaque: a per-edition pseudonym and a tag, nothing of the subscriber id in clear.
    for (const path of ann.clicks) expect(path).toMatch(new RegExp(`^/t/${EDITION}/[01]/[\\w-]{28}$`));
    expect(ann.pixel).toMatch(new RegExp(`^/t/${EDITION}/open/[\\w-]{28}$`));
    expect(ann.html).not.toContain('https://news.example.org/');
    expect(ann.html).toContain('href="https://digest.example.test/unsubscribe?token=');
    expect(ann.text).toContain(ARTICLES[0]);
    expect(ann.text).not.toContain('/t/');
    // Each reader has their own token; the edition is still rendered once.
    expect((await editionOf(h, 'ben@example.test')).clicks).not.toEqual(ann.clicks);
  });

  it('redirects a click to the article and counts readers once, clicks every time', async () => {
    const ann = await editionOf(h, 'ann@example.test');
    const ben = await editionOf(h, 'ben@example.test');
    const first = await get(ann.clicks[0]!);
    expect(first.statusCode).toBe(302);
    expect(first.headers.location).toBe(ARTICLES[Number(ann.clicks[0]!.split('/')[3])]);
    expect(first.headers['cache-control']).toContain('no-store');
    await get(ann.clicks[0]!);
    await get(ben.clicks[0]!);
    const pixel = await get(ann.pixel!);
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(pixel.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    await get(ann.pixel!);

    const response = await adminGet(`/admin/editions/${EDITION}`);
    const clickedLink = ARTICLES[Number(ann.clicks[0]!.split('/')[3])];
    const { engagement } = response.json() as { engagement: { openedBy: number; clickedBy: number; links: unknown[] } };
    expect(engagement).toMatchObject({ openedBy: 2, clickedBy: 2 });
    // toEqual, not toMatchObject: inside toMatchObject, arrayContaining lets an item miss a field.
    expect(engagement.links).toEqual(
      ARTICLES.map((url) =>
        url === clickedLink ? { url, clickedBy: 2, clicks: 3 } : { url, clickedBy: 0, clicks: 0 },
      ),
    );
  });

  it('sends a forged or browser-view token to the article without counting it', async () => {
    const path = (await editionOf(h, 'ann@example.test')).clicks[1]!;
    const forged = await get(`${path.slice(0, -3)}xyz`);
    expect(forged.statusCode).toBe(302);
    const web = await get(`/t/${EDITION}/${path.split('/')[3]}/web`);
    expect(web.statusCode).toBe(302);
    const browserView = await get(`/editions/${EDITION}`);
    expect(browserView.body).toContain(`/t/${EDITION}/0/web`);
    expect((await get(`/t/${EDITION}/open/forged`)).statusCode).toBe(200);
    const { engagement: after } = (await adminGet(`/admin/editions/${EDITION}`)).json() as {
      engagement: { openedBy: number; links: Array<{ clicks: number }> };
    };
    expect(after.openedBy).toBe(2);
    expect(after.links.reduce((sum, link) => sum + link.clicks, 0)).toBe(3);
  });

  it("redirects only to the edition's own links: 404 for another index, edition or a smuggled address", async () => {
    const token = (await editionOf(h, 'ann@example.test')).clicks[0]!.split('/')[4];
    for (const url of [
      `/t/${EDITION}/2/${token}`,
      `/t/1999-01-01/0/${token}`,
      `/t/${EDITION}/-1/${token}`,
      `/t/${EDITION}/https%3A%2F%2Fevil.example/${token}`,
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.headers.location, url).toBeUndefined();
    }
  });

  it('leaves the preview (and so its test sends) untracked: its edition is not stored yet', async () => {
    await h.app.intake.ingest(
      {
        url: 'https://news.example.org/tonight',
        title: 'Tonight',
        publishedAt: await publishedForToday(h, 5_000, 'preview'),
      },
      'admin',
    );
    const preview = await h.app.desk.preview();
    expect(browserView(preview.rendered.html)).toContain('href="https://news.example.org/tonight"');
    expect(browserView(preview.rendered.html)).not.toContain('/t/');
    expect(preview.rendered.links).toEqual([]);
  });

  it('shows opens and clicks on the console progress page, most clicked link first', async () => {
    // A console session as the login creates it (the login itself is tested in tests/console).
    const session = await new AdminSessions(h.app.redis, h.app.keys, ADMIN_TOKEN, '').create('editor');
    const page = await h.server.inject({
      method: 'GET',
      url: `/console/editions/${EDITION}`,
      cookies: { digest_session: session.id },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(
      /<p id="engagement">Opened by about 2 \(100% of those sent\) · clicked by about 2 \(100% of those sent\)\./,
    );
    expect(page.body).toContain('<tr><th>Link</th><th>Readers who clicked</th><th>All clicks</th></tr>');
    expect(linkRows(page.body).map(({ readers, clicks }) => [readers, clicks])).toEqual([
      [2, 3],
      [0, 0],
    ]);
    expect(linkRows(page.body).map(({ url }) => url)).toContain('https://news.example.org/budget?x=1&amp;y=2');
    expect((await h.server.inject({ method: 'GET', url: `/admin/editions/${EDITION}` })).statusCode).toBe(401);
  });

  it('counts a reader once per link however often they replay it: 51 visits are 51 clicks but one reader, and the console ranks links by readers', async () => {
    // Ann's first link was clicked by both readers before; her second by nobody yet.
    const [earlier, replayed] = (await editionOf(h, 'ann@example.test')).clicks;
    const urlOf = (path: string | undefined) => ARTICLES[Number(path!.split('/')[3])];
    for (let visit = 0; visit < 51; visit += 1) expect((await get(replayed!)).statusCode).toBe(302);

    const { engagement } = (await adminGet(`/admin/editions/${EDITION}`)).json() as {
      engagement: { clickedBy: number; links: Array<{ url: string; clickedBy: number; clicks: number }> };
    };
    expect(engagement.clickedBy).toBe(2);
    expect(engagement.links).toHaveLength(2);
    expect(engagement.links).toEqual(
      expect.arrayContaining([
        { url: urlOf(earlier), clickedBy: 2, clicks: 3 },
        { url: urlOf(replayed), clickedBy: 1, clicks: 51 },
      ]),
    );
    const session = await new AdminSessions(h.app.redis, h.app.keys, ADMIN_TOKEN, '').create('editor');
    const page = await h.server.inject({
      method: 'GET',
      url: `/console/editions/${EDITION}`,
      cookies: { digest_session: session.id },
    });
    const shown = (url: string | undefined) => url!.replaceAll('&', '&amp;');
    expect(linkRows(page.body)).toEqual([
      { url: shown(urlOf(earlier)), readers: 2, clicks: 3 },
      { url: shown(urlOf(replayed)), readers: 1, clicks: 51 },
    ]);
  });
});

describe('without TRACKING (the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await sendEdition(h);
  });
  afterAll(async () => h?.close());

  it('links straight to the articles, has no pixel and reports no engagement', async () => {
    const ann = await editionOf(h, 'ann@example.test');
    expect(ann.clicks).toEqual([]);
    expect(ann.pixel).toBeUndefined();
    expect(ann.html).toContain('href="https://news.example.org/bridge"');
    expect(
      (await h.server.inject({ method: 'GET', url: `/admin/editions/${EDITION}`, headers: h.admin })).json(),
    ).toMatchObject({ engagement: null });
  });
});
