import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mjmlCompiles } from '../../src/platform/metrics.ts';
import { type Harness, linkIn, startHarness, waitFor } from '../support/harness.ts';

/**
 * A reader who chose plain text on the preferences page gets the edition as one text/plain part;
 * everyone else gets HTML with its text twin. Both are variants of one MJML render.
 */
describe('email format preference', () => {
  let h: Harness;

  const compiles = async () =>
    (await mjmlCompiles.get()).values.find((value) => value.labels.template === 'digest')?.value ?? 0;
  const addReader = async (email: string, name: string) => {
    const { id } = await h.app.subscribers.create(email, { email, name });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    return id;
  };
  const preferencesToken = (id: string) =>
    new URL(h.app.subscriptions.readerUrls(id).preferencesUrl).searchParams.get('token') ?? '';
  const savePreferences = (id: string, payload: string) =>
    h.server.inject({
      method: 'POST',
      url: `/preferences?token=${preferencesToken(id)}`,
      payload,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  beforeAll(async () => {
    h = await startHarness();
    const plainId = await addReader('plain@example.test', 'Pat');
    await addReader('designed@example.test', 'Dee');
    expect((await savePreferences(plainId, 'name=Pat&format=text')).statusCode).toBe(200);
    await h.app.intake.ingest(
      {
        url: 'https://news.example.org/formats',
        title: 'Rates held & steady',
        summary: 'The central bank kept rates unchanged.',
        publishedAt: '2020-02-25T12:00:00Z',
      },
      'admin',
    );
  });
  afterAll(async () => h?.close());

  it('sends plain text to the reader who asked for it and HTML to the others, from one MJML compile', async () => {
    const before = await compiles();
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    await waitFor(async () => (await h.app.deliveries.progress(edition!.id))?.finished, 'the edition');
    expect(await compiles()).toBe(before + 1);

    const [plainRaw, ...morePlain] = h.sink
      .to('plain@example.test')
      .filter((message) => message.raw.includes('X-Edition:'));
    const [designedRaw, ...moreDesigned] = h.sink
      .to('designed@example.test')
      .filter((message) => message.raw.includes('X-Edition:'));
    expect([morePlain, moreDesigned]).toEqual([[], []]);

    const plain = await h.sink.parsed(plainRaw!);
    expect(plain.headers.get('content-type')).toMatchObject({ value: 'text/plain', params: { charset: 'utf-8' } });
    expect(plain.html).toBe(false);
    expect(plain.text).toContain('Good evening, Pat');
    expect(plain.text).toContain('Rates held & steady');
    expect(plain.text).not.toMatch(/<(p|table|div|a)\b/);
    expect(plainRaw!.raw).toMatch(
      /^List-Unsubscribe: <https:\/\/digest\.example\.test\/unsubscribe\?token=[\w.-]+>\r$/m,
    );
    expect(plainRaw!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    expect(plainRaw!.raw).toMatch(/^List-Id: /m);
    expect(linkIn(plain.text ?? '', 'https://digest.example.test/unsubscribe?token=')).toMatch(/token=[\w.-]+$/);

    const designed = await h.sink.parsed(designedRaw!);
    expect(designed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(designed.html).toContain('Good evening, Dee');
    expect(designed.text).toContain('Good evening, Dee');
  });

  it('the preferences page shows the choice and refuses an unknown format, changing nothing', async () => {
    const id = (await h.app.subscribers.findIdByEmail('plain@example.test'))!;
    const page = await h.server.inject({ method: 'GET', url: `/preferences?token=${preferencesToken(id)}` });
    expect(page.body).toContain('<input type="radio" name="format" value="text" checked>');
    expect(page.body).toContain('<input type="radio" name="format" value="html">');
    const bad = await savePreferences(id, 'name=Pat&format=pdf');
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('the email format must be html or text');
    expect((await h.app.subscribers.get(id))?.format).toBe('text');
  });
});
