import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type Harness, startHarness, waitFor } from '../support/harness.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

/**
 * The edition's day in the console, in Debian's Chromium: each state shows what it is and the
 * actions it allows, and the buttons do them. Approval is required here; the console's clock
 * (CLOCK_START) is half an hour before the 18:30 cut-off of 2020-04-01.
 */
describe('the editorial day in the console', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base: string;
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `editorial-${name}.png`), fullPage: true });
  const status = () => page.locator('#edition-status').getAttribute('data-status');
  const actions = async () =>
    (await page.locator('#edition-actions button').allTextContents()).map((text) => text.trim());

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({ env: { CLOCK_START: '2020-04-01T18:00:00Z', DIGEST_APPROVAL: 'required' } });
    base = await h.server.listen({ port: 0, host: '127.0.0.1' });
    for (const email of ['ann@example.test', 'ben@example.test']) {
      const { id } = await h.app.subscribers.create(email, { email });
      await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    }
    await h.app.intake.ingest(
      { url: 'https://news.example.org/april', title: 'Spring budget agreed', publishedAt: '2020-04-01T12:00:00Z' },
      'admin',
    );
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/console/login`);
    await page.fill('input[name=name]', 'editor-eve');
    await page.fill('input[name=password]', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/console`);
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows the open edition, collecting articles, with approve, send now and skip', async () => {
    expect(await status()).toBe('open');
    expect(await page.locator('#edition-status').textContent()).toContain('Open: collecting articles');
    expect(await actions()).toEqual(['Approve', 'Send now', 'Skip']);
    await shot('open');
  });

  it('shows an edition held for approval after its cut-off, and approving it sends it', async () => {
    await h.app.desk.runDue(new Date('2020-04-01T18:30:05Z'));
    await page.goto(`${base}/console`);
    expect(await status()).toBe('held');
    expect(await page.locator('#edition-status').textContent()).toContain('waiting for an editor’s approval');
    expect(await actions()).toEqual(['Approve', 'Send now', 'Skip']);
    expect(await page.locator('.alerts').textContent()).toContain('waiting for an editor');
    await shot('held-awaiting-approval');
    await page.click('#edition-actions button:has-text("Approve")');
    await page.waitForURL(`${base}/console/editions/2020-04-01`);
    // The page reloads itself when the edition's status changes (sending, then sent).
    await waitFor(async () => (await status().catch(() => null)) === 'sent', 'the page to show it sent', 20_000);
    await page.waitForLoadState('load');
    expect(await page.locator('#status').textContent()).toBe('All sent');
    expect(await page.locator('#events').textContent()).toContain('console:editor-eve');
    expect(await actions()).toEqual([]);
    await shot('approved-sent');
  });

  it('moves on to the next edition; skipping it asks why, shows who skipped it, and it can be reopened', async () => {
    await page.goto(`${base}/console`);
    expect(await page.locator('#edition-card').textContent()).toContain('Edition 2020-04-02');
    expect(await status()).toBe('open');
    await page.fill('#edition-actions input[name=reason]', 'Easter pause');
    await page.click('#edition-actions button:has-text("Skip")');
    await page.waitForURL(`${base}/console/editions/2020-04-02`);
    expect(await status()).toBe('skipped');
    expect(await page.locator('#edition-status').textContent()).toBe('Skipped by console:editor-eve: Easter pause');
    expect(await actions()).toEqual(['Reopen']);
    await shot('skipped');
    await page.click('#edition-actions button:has-text("Reopen")');
    await page.waitForURL(`${base}/console/editions/2020-04-02`);
    // As it was before the skip: open, collecting articles until its cut-off.
    expect(await status()).toBe('open');
    expect(await page.locator('#edition-status').textContent()).toContain('Open: collecting articles');
    expect(await actions()).toEqual(['Approve', 'Send now', 'Skip']);
    await shot('reopened-open');
  });
});
