import { describe, expect, it } from 'vitest';
import { worstCaseSections, worstRecipient } from '../../bench/email-size.ts';
import { benchSections } from '../../bench/fixtures.ts';
import type { Section } from '../../src/editions/assemble.ts';
import { TEXT_WIDTH } from '../../src/platform/text-wrap.ts';
import { article, CUTOFF, emailKit, READER } from '../support/email.ts';

/** A line that may be longer than 78 characters: a link, with at most a short label such as "[12]" before it. */
const LINK_LINE = /^(\S{1,7} )?https?:\/\/\S+$/;
const width = (line: string) => [...line].length;

/** The plain-text part as a reader's mail program shows it: lines, and the links listed by number. */
function readText(text: string) {
  const lines = text.split('\n');
  const references = new Map<number, string>();
  for (const line of lines) {
    const listed = /^\[(\d+)\] (https?:\/\/\S+)$/.exec(line);
    if (listed) references.set(Number(listed[1]), listed[2] ?? '');
  }
  return { lines, references };
}

describe('the plain-text part', () => {
  it('is wrapped at 78 characters, never cutting a link, and lists each article’s link by number', async () => {
    const sections = benchSections(CUTOFF, 20);
    const { text } = await emailKit().send(sections);
    const { lines, references } = readText(text);
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) if (width(line) > TEXT_WIDTH) expect(line, 'a long line is a link').toMatch(LINK_LINE);
    const articles = sections.flatMap((section) => section.articles);
    expect([...references.values()]).toEqual(articles.map((item) => item.url));
    for (const [index, item] of articles.entries()) {
      // The title, then its number in the list of links.
      expect(lines, item.title).toContain(`${item.title} [${index + 1}]`);
      expect(references.get(index + 1)).toBe(item.url);
    }
    // Readable: the reader's greeting, the sections, no markup; the reader's own links whole, on lines of their own.
    expect(text.replace(/\s+/g, ' ')).toContain(
      'Good evening, Ada, here is tonight’s selection: 20 stories chosen by our editors.',
    );
    expect(lines).toContain('== Business ==');
    expect(text).not.toMatch(/<(p|div|a|table|h\d)\b/);
    expect(lines).toContain(`https://news.example.com/unsubscribe?token=u.${READER.id}.0.0.${'s'.repeat(27)}`);
    expect(lines).toContain('Links');
  });

  it('keeps every line within 78 characters at the intake limits, except links and the reader’s own long name or address', async () => {
    const sections = worstCaseSections(CUTOFF);
    const { text, rendered } = await emailKit().send(sections);
    const { lines, references } = readText(text);
    for (const line of lines) if (width(line) > TEXT_WIDTH) expect(line).toMatch(LINK_LINE);
    // The same articles as the HTML, their 2,048-character links whole.
    expect(references.size).toBe(30 - rendered.omitted);
    for (const url of references.values()) expect(url).toHaveLength(2048);

    // A name or an address longer than a line cannot be wrapped per reader (the text is composed once per edition).
    const reader = worstRecipient();
    const { text: theirs } = await emailKit().send(sections, reader);
    for (const line of theirs.split('\n'))
      if (width(line) > TEXT_WIDTH)
        expect(LINK_LINE.test(line) || line.includes(reader.name) || line.includes(reader.email), line).toBe(true);
  });

  it('says "one story", never "1 stories"', async () => {
    const one: Section[] = [{ name: '', articles: [article(1, { title: 'Only this' })] }];
    const { text, html } = await emailKit().send(one);
    expect(text.replace(/\s+/g, ' ')).toContain('here is tonight’s selection: one story chosen by our editors.');
    expect(html).toContain('here is tonight’s selection: one story chosen by our editors.');
    expect(`${text}${html}`).not.toMatch(/\b1 stories\b/);
    // A lone section needs no heading; next to named ones it is "More news".
    expect(text).not.toContain('== ');
    expect(html).not.toContain('<h2');
    const mixed: Section[] = [
      { name: 'World', articles: [article(1)] },
      { name: '', articles: [article(2)] },
    ];
    expect((await emailKit().send(mixed)).text).toContain('== More news ==');
  });
});
