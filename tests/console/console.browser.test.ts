import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { articleKey } from '../../src/articles/article.ts';
import { ADMIN_TOKEN, type Harness, MIDDAY, startHarness, waitFor } from '../support/harness.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

/**
 * The admin console in a real browser (Debian's Chromium driven by playwright-core), against the
 * service with a real Redis and SMTP server: log in, curate, preview, test-send, send, watch the
 * progress, resend after injected failures, search subscribers. Screenshots go to tests/artifacts/.
 */
describe('admin console in a browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base: string;
  const readers = ['ann@example.test', 'ben@example.test', 'cat@example.test', 'dan@example.test'];
  /** The browser's reports of anything the Content-Security-Policy blocked on our pages. */
  const cspViolations: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    // The Today page's preview and `send-now` must act on the same edition, whatever the time of day.
    h = await startHarness({ env: MIDDAY.env });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    for (const email of readers) {
      const { id } = await h.app.subscribers.create(email, { email, name: '' });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    }
    const now = h.app.clock.now().getTime();
    for (const [index, title] of [
      'Budget passes after all-night session',
      'Storm closes mountain passes',
      'A quiet day at the zoo',
    ].entries()) {
      const result = await h.app.intake.ingest(
        {
          url: `https://news.example.org/${index}`,
          title,
          section: index === 2 ? 'Features' : 'Top stories',
          publishedAt: new Date(now - 5_000 - index * 1000).toISOString(),
        },
        'admin',
      );
      expect(result.ok).toBe(true);
    }
    // Markup that reached the store some other way must still show as text, never run.
    await h.app.articles.upsert(
      {
        key: articleKey('raw'),
        id: 'raw',
        url: 'https://news.example.org/raw',
        title: '<img src=x onerror="window.__pwned=1">Raw <b>markup</b>',
        summary: '<script>window.__pwned=2</script>',
        imageUrl: '',
        imageAlt: '',
        section: 'Features',
        publishedAt: new Date(now - 2_000),
        source: 'admin',
        selected: undefined,
        position: undefined,
        updatedAt: new Date(),
      },
      { keepPublishedAt: false },
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('keeps every console page and action behind the login and the CSRF token', async () => {
    const redirect = await fetch(`${base}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('location')).toBe('/console/login');
    for (const path of [
      '/console/subscribers',
      '/console/editions',
      '/console/feeds',
      '/console/queues',
      '/console/preview.html',
    ]) {
      expect((await fetch(`${base}${path}`, { redirect: 'manual' })).status).toBe(303);
    }
    expect((await fetch(`${base}/console/editions/2020-01-01/progress.json`)).status).toBe(401);
    expect((await fetch(`${base}/console/send-now`, { method: 'POST', redirect: 'manual' })).status).toBe(401);
    expect((await fetch(`${base}/admin/editions`)).status).toBe(401);
    expect(await h.app.editions.list()).toEqual([]);
  });

  it('logs in with the admin token and shows article markup as text', async () => {
    await page.goto(`${base}/console`);
    await page.fill('input[name=password]', 'wrong-password-123456');
    await page.click('button[type=submit]');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('Wrong name or password');
    await page.fill('input[name=name]', 'editor-eve');
    await page.fill('input[name=password]', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/console`);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'digest_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await expect(page.locator('body').textContent()).resolves.toContain('Raw <b>markup</b>');
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await shot('today');
  });

  it('refuses a form post without the CSRF token even with a session', async () => {
    const cookies = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const response = await fetch(`${base}/console/send-now`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=forged',
    });
    expect(response.status).toBe(403);
    expect(await h.app.editions.list()).toEqual([]);
  });

  it('curates the edition and previews it', async () => {
    const zoo = page.locator('tr', { hasText: 'A quiet day at the zoo' });
    await zoo.locator('button', { hasText: 'Choose' }).click();
    await expect(page.locator('tr', { hasText: 'A quiet day at the zoo' }).textContent()).resolves.toContain(
      'chosen #1',
    );
    await page.locator('tr', { hasText: 'Raw <b>markup</b>' }).locator('button', { hasText: 'Leave out' }).click();
    await expect(page.locator('tr', { hasText: 'Raw <b>markup</b>' }).textContent()).resolves.toContain('left out');
    await page.fill('input[name=subject]', 'Tonight: the budget, the storm and the zoo');
    await page.click('text=Save subject and preheader');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('saved');

    const preview = await page.request.get(`${base}/console/preview.html`);
    const previewHtml = await preview.text();
    // Chosen first: the zoo story (article 2) comes before the budget (article 0) in the body.
    expect(previewHtml.indexOf('href="https://news.example.org/2"')).toBeGreaterThan(0);
    expect(previewHtml.indexOf('href="https://news.example.org/2"')).toBeLessThan(
      previewHtml.indexOf('href="https://news.example.org/0"'),
    );
    expect(previewHtml).not.toContain('Raw');
    expect(await (await page.request.get(`${base}/console/preview.txt`)).text()).toContain('A quiet day at the zoo');
    await page.click('text=Mobile');
    await shot('today-curated');
  });

  it('sends a test of the preview to one address', async () => {
    await page.fill('input[name=to]', 'editor@example.test');
    await page.click('text=Send test');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Test sent to editor@example.test');
    const [test] = await waitFor(
      async () => (h.sink.to('editor@example.test').length ? h.sink.to('editor@example.test') : null),
      'the test email',
    );
    const parsed = await h.sink.parsed(test!);
    expect(parsed.subject).toBe('[Test] Tonight: the budget, the storm and the zoo');
  });

  it('sends the edition and shows the progress reaching all sent, then a failed-only resend', async () => {
    h.sink.policy.data = (message) =>
      message.to.includes('dan@example.test') ? { code: 554, message: 'Message refused by policy' } : null;
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('text=Send now');
    await page.waitForURL(/\/console\/editions\/\d{4}-\d{2}-\d{2}$/);
    await waitFor(
      async () => (await page.locator('body').textContent())?.includes('554 Message refused by policy'),
      'the progress page to show the failure by SMTP reply',
      20_000,
    );
    expect(await page.locator('#status').textContent()).toBe('Finished: 1 failed');
    expect(await page.locator('#count-sent').textContent()).toBe('3');
    await shot('progress-failed');

    h.sink.policy.data = undefined;
    await page.click('text=Resend to failed recipients');
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Resend r1 queued for 1 recipient(s)');
    await waitFor(
      async () => (await page.locator('#status').textContent()) === 'All sent',
      'the progress page to reach All sent',
      20_000,
    );
    await page.waitForLoadState('load');
    // The failure group is gone; the policy block stays in what was reported about the edition (and its alert).
    await waitFor(
      async () => (await page.locator('#failures').textContent()) === 'None.',
      'the failure group to be gone once resent',
    );
    expect(await page.locator('#count-sent').textContent()).toBe('4');
    const resendRow = await page.locator('#resends tr', { hasText: 'r1' }).textContent();
    expect(resendRow).toContain('failed');
    expect(resendRow).toContain('console:editor-eve');
    for (const email of readers) expect(h.sink.to(email).filter((m) => m.raw.includes('X-Edition:'))).toHaveLength(1);
    await shot('progress-all-sent');
  });

  it('finds a subscriber and shows their history and deliveries', async () => {
    await page.click('header >> text=Subscribers');
    await page.fill('input[name=q]', 'DA');
    await page.click('button:has-text("Search")');
    const rows = page.locator('table tr', { hasText: '@example.test' });
    expect(await rows.count()).toBe(1);
    await rows.locator('a').click();
    const body = await page.locator('body').textContent();
    expect(body).toContain('dan@example.test');
    expect(body).toMatch(/sent\s*r1/);
    await shot('subscriber');
    await page.click('header >> text=Editions');
    await expect(page.locator('body').textContent()).resolves.toContain('All sent');
    await shot('editions');
    await page.click('header >> text=Feeds');
    await shot('feeds');
    await page.goto(`${base}/console/queues`);
    await page.waitForLoadState('networkidle');
    await shot('queues');
    expect(await page.title()).not.toContain('Log in');
    // Every page above (including Bull Board's) ran under the strict policy without needing more.
    expect(cspViolations.filter((text) => !text.includes('fonts.googleapis.com'))).toEqual([]);
  });
});
