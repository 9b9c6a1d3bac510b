import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worstCaseSections } from '../../bench/email-size.ts';
import { benchSections } from '../../bench/fixtures.ts';
import type { Section } from '../../src/editions/assemble.ts';
import type { LocaleCode } from '../../src/platform/locales/index.ts';
import { arabicSections, article, CUTOFF, emailKit } from '../support/email.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
const WIDTHS = [320, 375, 600];
const HOSTILE_ALT = 'Alt "quoted" <script>window.__pwned=1</script> & more';
/** Every picture is this grey 16:9 rectangle: the test never leaves the machine. */
const PICTURE =
  '<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="720"><rect width="1280" height="720" fill="#7a8a99"/></svg>';

/** What the page says about itself, read in the browser. */
interface Reading {
  lang: string;
  dir: string;
  direction: string;
  scrollWidth: number;
  headings: Record<'h1' | 'h2' | 'h3', string[]>;
  images: Array<{ alt: string | null; width: string | null; height: string | null }>;
  preheader: { text: string; display: string; visible: boolean };
  bodyText: string;
  metas: string[];
  /** The lowest contrast between a text element and what is behind it, with that element's text. */
  lowestContrast: { ratio: number; text: string };
  pwned: unknown;
}

/** The in-page reading (a script file: these tests are typed without the DOM's types). */
const READ_EMAIL = readFileSync(join(import.meta.dirname, 'read-email.browser.js'), 'utf8');

async function read(page: Page): Promise<Reading> {
  return page.evaluate(`(${READ_EMAIL.replace(/;\s*$/, '')})()`) as Promise<Reading>;
}

/**
 * Issue 13, "reads well everywhere": the email as a reader gets it, in Debian's Chromium at phone
 * and desktop widths, light and dark, left to right and right to left. Screenshots go to
 * tests/artifacts/ (email-<locale>-<width>[-dark].png).
 */
describe('the email in a browser', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => browser?.close());

  async function open(html: string, width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme });
    await page.route('**/*', (route) =>
      /\.jpg$/.test(route.request().url())
        ? route.fulfill({ status: 200, contentType: 'image/svg+xml', body: PICTURE })
        : route.abort(),
    );
    await page.setContent(html, { waitUntil: 'load' });
    return page;
  }

  const cases: Array<{ locale: LocaleCode; sections: () => Section[] }> = [
    {
      locale: 'en',
      sections: () => [
        ...benchSections(CUTOFF, 12),
        {
          name: 'Hostile',
          articles: [
            article(99, {
              section: 'Hostile',
              title: 'An alt text that tries to be markup',
              imageUrl: 'https://cdn.example.com/x.jpg',
              imageAlt: HOSTILE_ALT,
            }),
          ],
        },
      ],
    },
    { locale: 'ar', sections: arabicSections },
  ];

  describe.each(cases)('$locale', ({ locale, sections }) => {
    let html: string;
    let articles: Section['articles'];
    let preheader: string;

    beforeAll(async () => {
      const kit = emailKit({ locale });
      const given = sections();
      articles = given.flatMap((section) => section.articles);
      const sent = await kit.send(given);
      html = sent.html;
      preheader = sent.rendered.preheader;
    });

    it.each(WIDTHS)('fits %i px without scrolling sideways, and says its language and direction', async (width) => {
      const page = await open(html, width);
      const reading = await read(page);
      await page.screenshot({ path: join(ARTIFACTS, `email-${locale}-${width}.png`), fullPage: true });
      await page.close();
      expect(reading.scrollWidth, `page width at ${width} px`).toBeLessThanOrEqual(width);
      expect(reading.lang).toBe(locale);
      expect(reading.dir).toBe(locale === 'ar' ? 'rtl' : 'ltr');
      expect(reading.direction).toBe(locale === 'ar' ? 'rtl' : 'ltr');
      expect(reading.lowestContrast.ratio, reading.lowestContrast.text).toBeGreaterThanOrEqual(4.5);
    });

    it('has real headings, images with width, height and alt, and a preheader nobody sees', async () => {
      const page = await open(html, 600);
      const reading = await read(page);
      await page.close();
      expect(reading.headings.h1).toEqual(['Evening Digest']);
      expect(reading.headings.h2).toEqual([...new Set(articles.map((item) => item.section))]);
      expect(reading.headings.h3).toEqual(articles.map((item) => item.title));
      const pictures = reading.images.filter((image) => image.width !== '1');
      expect(pictures).toHaveLength(articles.filter((item) => item.imageUrl).length);
      expect(pictures.map((image) => image.alt)).toEqual(
        articles.filter((item) => item.imageUrl).map((item) => item.imageAlt),
      );
      for (const image of reading.images)
        expect(
          [image.width, image.height].every((value) => Number(value) > 0),
          JSON.stringify(image),
        ).toBe(true);
      expect(reading.pwned).toBeUndefined();
      expect(preheader.length).toBeGreaterThan(10);
      expect(reading.preheader).toEqual({ text: preheader, display: 'none', visible: false });
      expect(reading.bodyText).not.toContain(preheader);
      expect(reading.metas).toEqual(
        expect.arrayContaining(['color-scheme=light dark', 'supported-color-schemes=light dark']),
      );
    });

    it('reads well in dark mode', async () => {
      const page = await open(html, 375, 'dark');
      const reading = await read(page);
      const cardBackground = await page.evaluate('getComputedStyle(document.querySelector(".card")).backgroundColor');
      await page.screenshot({ path: join(ARTIFACTS, `email-${locale}-375-dark.png`), fullPage: true });
      await page.close();
      expect(cardBackground).toBe('rgb(38, 36, 31)');
      expect(reading.lowestContrast.ratio, reading.lowestContrast.text).toBeGreaterThanOrEqual(4.5);
      expect(reading.scrollWidth).toBeLessThanOrEqual(375);
    });
  });

  it('fits 320 px at the intake limits: long words, long section names, 300-character titles', async () => {
    const { html } = await emailKit().send(worstCaseSections(CUTOFF));
    const page = await open(html, 320);
    const reading = await read(page);
    await page.screenshot({ path: join(ARTIFACTS, 'email-en-320-worst-case.png') });
    await page.close();
    expect(reading.bodyText).toContain('Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung');
    expect(reading.scrollWidth).toBeLessThanOrEqual(320);
  });

  describe('reader pages in Arabic', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ env: { DIGEST_LOCALE: 'ar' }, workers: false });
    });
    afterAll(async () => h?.close());

    it('read right to left', async () => {
      const base = await h.server.listen({ port: 0, host: '127.0.0.1' });
      const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
      await page.goto(`${base}/`);
      const seen = (await page.evaluate(
        '({ dir: document.documentElement.dir, lang: document.documentElement.lang, direction: getComputedStyle(document.querySelector("main")).direction, text: document.body.innerText, scrollWidth: document.documentElement.scrollWidth })',
      )) as { dir: string; lang: string; direction: string; text: string; scrollWidth: number };
      await page.screenshot({ path: join(ARTIFACTS, 'page-ar-subscribe-375.png'), fullPage: true });
      await page.close();
      expect(seen).toMatchObject({ dir: 'rtl', lang: 'ar', direction: 'rtl' });
      expect(seen.text).toContain('اقرأ النشرات السابقة');
      expect(seen.scrollWidth).toBeLessThanOrEqual(375);
    });
  });
});
