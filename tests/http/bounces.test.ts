import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriberState } from '../../src/subscribers/subscriber-store.ts';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';

/**
 * POST /admin/bounces: bounces and complaints that arrive after the SMTP server said 250 (a relay's
 * webhook, the bounce mailbox, a feedback loop) suppress the address, against a real Redis and SMTP server.
 */
describe('POST /admin/bounces', () => {
  let h: Harness;
  const readers = [
    'hard@example.test',
    'soft@example.test',
    'stale@example.test',
    'angry@example.test',
    'kept@example.test',
    'left@example.test',
  ];

  const report = (payload: unknown, headers: Record<string, string> = {}) =>
    h.server.inject({
      method: 'POST',
      url: '/admin/bounces',
      headers: { ...h.admin, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });
  const subscriber = async (email: string) => h.app.subscribers.get((await h.app.subscribers.findIdByEmail(email))!);
  const stateOf = async (email: string): Promise<SubscriberState | undefined> => (await subscriber(email))?.state;
  const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600_000).toISOString();

  beforeAll(async () => {
    h = await startHarness();
    for (const email of readers) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({
        id,
        from: ['pending'],
        to: email === 'left@example.test' ? 'unsubscribed' : 'confirmed',
        reason: 'test',
      });
    }
  });
  afterAll(async () => h?.close());

  it('needs the admin token', async () => {
    const response = await h.server.inject({
      method: 'POST',
      url: '/admin/bounces',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'hard@example.test', type: 'hard' }),
    });
    expect(response.statusCode).toBe(401);
    expect(await stateOf('hard@example.test')).toBe('confirmed');
  });

  it('a hard bounce suppresses the address at once, with the reason in its history', async () => {
    const response = await report({
      email: 'HARD@example.test',
      type: 'hard',
      reason: '550 5.1.1 <hard@example.test>: user unknown',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ email: 'hard@example.test', type: 'hard', outcome: 'suppressed' });
    const hard = await subscriber('hard@example.test');
    expect(hard).toMatchObject({
      state: 'bounced',
      suppressionReason: 'hard bounce reported: 550 5.1.1 <hard@example.test>: user unknown',
    });
    expect((await h.app.subscribers.history(hard!.id))[0]).toMatchObject({
      from: 'confirmed',
      to: 'bounced',
      by: 'bounce-report',
    });
    expect((await report({ email: 'hard@example.test', type: 'hard' })).json()).toMatchObject({
      outcome: 'already-suppressed',
    });
  });

  it('a complaint marks the address complained', async () => {
    expect(
      (
        await report({ email: 'angry@example.test', type: 'complaint', reason: 'abuse report via feedback loop' })
      ).json(),
    ).toMatchObject({ outcome: 'suppressed' });
    expect(await stateOf('angry@example.test')).toBe('complained');
  });

  it('soft bounces suppress only at SOFT_BOUNCE_LIMIT (3) within 30 days; older ones do not count', async () => {
    const soft = (email: string, at?: string) =>
      report({ email, type: 'soft', reason: '452 4.2.2 mailbox full', ...(at ? { at } : {}) });
    expect((await soft('soft@example.test')).json()).toEqual({
      email: 'soft@example.test',
      type: 'soft',
      outcome: 'counted',
      softBounces: 1,
    });
    expect((await soft('soft@example.test')).json()).toMatchObject({ outcome: 'counted', softBounces: 2 });
    expect(await stateOf('soft@example.test')).toBe('confirmed');
    expect((await soft('soft@example.test')).json()).toMatchObject({ outcome: 'suppressed', softBounces: 3 });
    expect(await subscriber('soft@example.test')).toMatchObject({
      state: 'bounced',
      suppressionReason: expect.stringContaining('3 soft bounces in 30 days'),
    });

    expect((await soft('stale@example.test', daysAgo(45))).json()).toMatchObject({
      outcome: 'counted',
      softBounces: 1,
    });
    expect((await soft('stale@example.test', daysAgo(31))).json()).toMatchObject({
      outcome: 'counted',
      softBounces: 2,
    });
    expect((await soft('stale@example.test')).json()).toMatchObject({ outcome: 'counted', softBounces: 1 });
    expect((await soft('stale@example.test')).json()).toMatchObject({ outcome: 'counted', softBounces: 2 });
    expect(await stateOf('stale@example.test')).toBe('confirmed');
    const history = await h.app.subscribers.history((await h.app.subscribers.findIdByEmail('stale@example.test'))!);
    expect(history.filter((event) => event.reason.startsWith('soft bounce reported'))).toHaveLength(4);
  });

  it('leaves unknown and unsubscribed addresses as they are', async () => {
    const response = await report([
      { email: 'stranger@example.test', type: 'hard' },
      { email: 'left@example.test', type: 'hard' },
    ]);
    expect(response.json()).toEqual({
      results: [
        { email: 'stranger@example.test', type: 'hard', outcome: 'unknown-address' },
        { email: 'left@example.test', type: 'hard', outcome: 'not-subscribed' },
      ],
    });
    expect(await stateOf('left@example.test')).toBe('unsubscribed');
    expect(await h.app.subscribers.findIdByEmail('stranger@example.test')).toBeNull();
  });

  it.each([
    ['an unknown type', { email: 'kept@example.test', type: 'bounced' }, 'type'],
    ['a malformed address', { email: 'kept@example', type: 'hard' }, 'email'],
    ['CRLF in the address', { email: 'kept@example.test\r\nBcc: x@example.test', type: 'hard' }, 'email'],
    ['a time in the future', { email: 'kept@example.test', type: 'hard', at: '2999-01-01T00:00:00Z' }, 'at'],
    ['an unknown field', { email: 'kept@example.test', type: 'hard', edition: 'x' }, 'body'],
    ['no body', null, 'body'],
  ])('refuses %s with 400, naming the field, and changes nothing', async (_, payload, field) => {
    const response = await report(payload);
    expect(response.statusCode).toBe(400);
    expect((response.json() as { issues: string[] }).issues.join('\n')).toContain(`${field}:`);
    expect(await stateOf('kept@example.test')).toBe('confirmed');
  });

  it('refuses a batch with one bad report without applying the good ones, and batches over 1000', async () => {
    const response = await report([
      { email: 'kept@example.test', type: 'hard' },
      { email: 'kept@example.test', type: 'nope' },
    ]);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ issues: [expect.stringMatching(/^1\.type:/)] });
    expect(await stateOf('kept@example.test')).toBe('confirmed');

    const tooMany = await report(Array.from({ length: 1001 }, () => ({ email: 'kept@example.test', type: 'soft' })));
    expect(tooMany.statusCode).toBe(400);
    expect(
      await h.app.subscribers.history((await h.app.subscribers.findIdByEmail('kept@example.test'))!),
    ).not.toContainEqual(expect.objectContaining({ by: 'bounce-report' }));
    const oversize = await report({ email: 'kept@example.test', type: 'hard', reason: 'x'.repeat(1024 * 1024) });
    expect(oversize.statusCode).toBe(413);
  });

  it('keeps the reason to one line of text', async () => {
    await report({
      email: 'kept@example.test',
      type: 'soft',
      reason: '451 try later\r\nX-Injected: yes\u0000<script>alert(1)</script>',
    });
    const [event] = await h.app.subscribers.history((await h.app.subscribers.findIdByEmail('kept@example.test'))!);
    expect(event?.reason).toBe('soft bounce reported: 451 try later X-Injected: yes <script>alert(1)</script>');
  });

  it('the next edition goes to nobody who bounced or complained', async () => {
    await h.app.intake.ingest(
      { url: 'https://news.example.org/bounces', title: 'After the bounces', publishedAt: '2020-02-25T12:00:00Z' },
      'admin',
    );
    const edition = await h.app.desk.runDue(new Date('2020-02-25T18:30:05Z'));
    await waitFor(async () => (await h.app.deliveries.progress(edition!.id))?.finished, 'the edition');
    const copies = Object.fromEntries(
      readers.map((email) => [email, h.sink.to(email).filter((message) => message.raw.includes('X-Edition:')).length]),
    );
    expect(copies).toEqual({
      'hard@example.test': 0,
      'soft@example.test': 0,
      'stale@example.test': 1,
      'angry@example.test': 0,
      'kept@example.test': 1,
      'left@example.test': 0,
    });
  });

  it('counts reports in /metrics', async () => {
    const metrics = (await h.server.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/digest_bounce_reports_total\{type="hard",outcome="suppressed"\} [1-9]/);
    expect(metrics).toMatch(/digest_bounce_reports_total\{type="soft",outcome="counted"\} [1-9]/);
  });
});
