import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { measureEmailSizes, SIZE_TARGETS, worstCaseSections, worstRecipient } from '../../bench/email-size.ts';
import { benchSections } from '../../bench/fixtures.ts';
import { browserView } from '../../src/editions/render.ts';
import { GMAIL_CLIP_BYTES } from '../../src/editions/email-weight.ts';
import { mjmlCompiles } from '../../src/platform/metrics.ts';
import { CUTOFF, emailKit } from '../support/email.ts';

const compiles = async () =>
  (await mjmlCompiles.get()).values.find((value) => value.labels.template === 'digest')?.value ?? 0;
const conditionals = (html: string) => html.match(/<!--\[if /g)?.length ?? 0;

/**
 * Issue 13: the email is light enough for every inbox. Sizes are of the message as a worker composes
 * it for a reader, read back as a mail client does (bench/email-size.ts, the same function as the
 * bench's rows).
 */
describe('the weight of the email as sent', () => {
  it('meets the targets at 5, 20 and 30 articles and in the worst case, never reaching Gmail’s clip', async () => {
    const kit = emailKit();
    const sizes = await measureEmailSizes(kit.renderer, kit.messages);
    expect(sizes.map((size) => size.articles)).toEqual([5, 20, 30, 30]);
    const [five, twenty, thirty, worst] = sizes;
    console.log(
      sizes
        .map(
          (size) =>
            `${size.label}: HTML ${size.htmlBytes} B, message ${size.messageBytes} B, ${size.inEmail}/${size.articles} in the email, browser version ${size.webBytes} B`,
        )
        .join('\n'),
    );
    expect(twenty!.htmlBytes).toBeLessThanOrEqual(SIZE_TARGETS.html20);
    expect(twenty!.messageBytes).toBeLessThanOrEqual(SIZE_TARGETS.message20);
    for (const size of sizes) expect(size.htmlBytes, size.label).toBeLessThanOrEqual(SIZE_TARGETS.worstHtml);
    expect(SIZE_TARGETS.worstHtml).toBeLessThan(GMAIL_CLIP_BYTES);
    // A normal evening goes out whole; the worst case leaves articles to the browser version instead of being clipped.
    for (const size of [five!, twenty!, thirty!]) expect(size.inEmail, size.label).toBe(size.articles);
    expect(worst!.inEmail).toBeGreaterThan(0);
    expect(worst!.inEmail).toBeLessThan(worst!.articles);
    expect(worst!.webBytes).toBeGreaterThan(GMAIL_CLIP_BYTES);
  });

  it('trims the worst case: the email keeps the first articles, its footer and a link to the rest; the browser version has them all', async () => {
    const kit = emailKit();
    const sections = worstCaseSections(CUTOFF);
    // Links as the HTML carries them: escaped by Handlebars (`=` too).
    const titles = sections.flatMap((section) =>
      section.articles.map((article) => Handlebars.Utils.escapeExpression(article.url)),
    );
    const before = await compiles();
    const { rendered, html, text } = await kit.send(sections, worstRecipient());
    // One compile for the full edition, one (rarely two) for the email that fits.
    expect((await compiles()) - before).toBeGreaterThanOrEqual(2);
    expect((await compiles()) - before).toBeLessThanOrEqual(3);
    const kept = titles.length - rendered.omitted;
    expect(rendered.omitted).toBeGreaterThan(0);
    for (const [index, url] of titles.entries())
      expect(html.includes(`href="${url}"`), `article ${index}`).toBe(index < kept);
    expect(html).toContain(
      `<a href="https://news.example.com/editions/2026-11-24" style="color:#8a1c1c;font-weight:700">${rendered.omitted} more stories in the browser version</a>`,
    );
    expect(text.replace(/\s+/g, ' ')).toContain(
      `${rendered.omitted} more stories in the browser version: https://news.example.com/editions/2026-11-24`,
    );
    // The footer, with the reader's own links, is still there (Gmail would have cut it).
    expect(html).toContain('href="https://news.example.com/unsubscribe?token=u.999999999999999.');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    // The browser version: every article, no "more stories".
    const web = browserView(rendered.web);
    for (const url of titles) expect(web).toContain(`href="${url}"`);
    expect(web).not.toContain('more stories in the browser version');
    // The plain text carries the same articles as the HTML.
    const plainLinks = sections.flatMap((section) => section.articles.map((article) => article.url));
    for (const [index, url] of plainLinks.entries())
      expect(text.includes(url), `article ${index} in the text`).toBe(index < kept);
  });

  it('renders once when the edition fits, and its browser version is the email', async () => {
    const kit = emailKit();
    const before = await compiles();
    const { rendered } = await kit.send(benchSections(CUTOFF, 30));
    expect((await compiles()) - before).toBe(1);
    expect(rendered.omitted).toBe(0);
    expect(rendered.web).toBe(rendered.html);
  });

  it('trims with TRACKING too, where links are short but the images are not', async () => {
    const kit = emailKit({ tracking: true });
    const { rendered, html } = await kit.send(worstCaseSections(CUTOFF), worstRecipient());
    expect(rendered.omitted).toBeGreaterThan(0);
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(SIZE_TARGETS.worstHtml);
    expect(html).toContain('/t/2026-11-24/open/tttt');
    expect(rendered.links).toHaveLength(30);
  });

  it('costs the same Outlook conditionals at 5 articles as at 30: an article adds none', async () => {
    const kit = emailKit();
    const few = (await kit.send(benchSections(CUTOFF, 5))).html;
    const many = (await kit.send(benchSections(CUTOFF, 30))).html;
    expect(conditionals(few)).toBeGreaterThan(0);
    expect(conditionals(many)).toBe(conditionals(few));
    expect(conditionals(many)).toBeLessThanOrEqual(10);
    // Minified: no runs of whitespace between tags (Outlook's conditional comments are left as MJML writes them).
    expect(many.replace(/<!--\[if[\s\S]*?<!\[endif\]-->/g, '')).not.toMatch(/>\s{2,}</);
  });
});
