import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.ts';

/** A reader's own page, reached from the link in every edition (the same signed token as unsubscribe). */
describe('reader preferences and pending expiry', () => {
  let h: Harness;
  let id: string;
  let token: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    ({ id } = await h.app.subscribers.create('reader@example.test', { email: 'reader@example.test', name: 'Old' }));
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    token = new URL(h.app.subscriptions.readerUrls(id).preferencesUrl).searchParams.get('token') ?? '';
  });
  afterAll(async () => h?.close());

  it('shows the subscription and changes the greeting name', async () => {
    const page = await h.server.inject({ method: 'GET', url: `/preferences?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('reader@example.test');
    expect(page.body).toContain('value="Old"');
    const saved = await h.server.inject({
      method: 'POST',
      url: `/preferences?token=${token}`,
      payload: 'name=Ada',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.body).toContain('Saved.');
    expect((await h.app.subscribers.get(id))?.name).toBe('Ada');
  });

  it('refuses a name with a line break and a forged link, changing nothing', async () => {
    const bad = await h.server.inject({
      method: 'POST',
      url: `/preferences?token=${token}`,
      payload: 'name=A%0D%0ABcc:%20x@y.z',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('control characters');
    const forged = await h.server.inject({ method: 'GET', url: `/preferences?token=${token.slice(0, -2)}xx` });
    expect(forged.statusCode).toBe(400);
    expect((await h.app.subscribers.get(id))?.name).toBe('Ada');
  });

  it('refuses a name with a bidi override or a zero-width space, and keeps ZWNJ and ZWJ (Persian names, emoji)', async () => {
    const save = (name: string) =>
      h.server.inject({
        method: 'POST',
        url: `/preferences?token=${token}`,
        payload: `name=${encodeURIComponent(name)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    for (const disguised of ['Ada \u202Enimda', 'Ad\u200Ba', '\u2066Ada\u2069', 'Ada\u2060']) {
      const refused = await save(disguised);
      expect(refused.statusCode, JSON.stringify(disguised)).toBe(400);
      expect(refused.body).toContain('invisible formatting characters');
    }
    expect((await h.app.subscribers.get(id))?.name).toBe('Ada');
    // ZWNJ inside a Persian name, ZWJ inside an emoji sequence.
    const joined = 'مهر\u200Cسا \u{1F469}\u200D\u{1F4BB}';
    expect((await save(joined)).statusCode).toBe(200);
    expect((await h.app.subscribers.get(id))?.name).toBe(joined);
    expect((await save('Ada')).statusCode).toBe(200);
  });

  it('removes pending sign-ups whose confirmation link has expired, and only those', async () => {
    const fresh = await h.app.subscribers.create('fresh@example.test', { email: 'fresh@example.test' });
    const stale = await h.app.subscribers.create('stale@example.test', { email: 'stale@example.test' });
    await h.app.db.query('UPDATE subscribers SET updated_at = $2 WHERE id = $1', [
      stale.id,
      new Date(Date.now() - 8 * 24 * 3600_000),
    ]);
    expect(await h.app.subscriptions.expirePending()).toBe(1);
    expect(await h.app.subscribers.get(stale.id)).toBeNull();
    expect(await h.app.subscribers.findIdByEmail('stale@example.test')).toBeNull();
    expect((await h.app.subscribers.get(fresh.id))?.state).toBe('pending');
    expect((await h.app.subscribers.get(id))?.state).toBe('confirmed');
    expect((await h.app.subscribers.countsByState()).pending).toBe(1);
  });
});
