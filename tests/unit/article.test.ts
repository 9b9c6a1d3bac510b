import { describe, expect, it } from 'vitest';
import {
  ADMIN_SOURCE,
  type ArticleInput,
  LIMITS,
  articleInputSchema,
  articleKey,
  normalizeArticle,
  toPlainText,
} from '../../src/articles/article.ts';

const NOW = new Date('2026-11-25T12:00:00Z');
const base: ArticleInput = { url: 'https://news.example.test/2026/11/25/story', title: 'A story' };

/** A feed item's fields are HTML; what editors type (ADMIN_SOURCE) is text. */
const normalize = (input: Partial<ArticleInput> = {}, source = 'https://news.example.org/rss') =>
  normalizeArticle(articleInputSchema.parse({ ...base, ...input }), source, NOW);

describe('articleInputSchema', () => {
  it('accepts a minimal article and fills in defaults', () => {
    expect(articleInputSchema.parse(base)).toEqual({ ...base, summary: '', imageUrl: '', imageAlt: '', section: '' });
  });

  it('accepts a complete article', () => {
    const input = {
      ...base,
      id: 'guid-1',
      summary: 'Summary',
      imageUrl: 'http://img.example.test/a.jpg',
      imageAlt: 'Alt',
      section: 'World',
      publishedAt: '2026-11-25T10:00:00Z',
      selected: true,
      position: 2,
    };
    const parsed = articleInputSchema.parse(input);
    expect(parsed).toMatchObject({ ...input, publishedAt: new Date('2026-11-25T10:00:00Z') });
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://files.example.test/a',
    'mailto:a@example.test',
    'not a url',
    '',
  ])('refuses %j as the link', (url) => {
    expect(articleInputSchema.safeParse({ ...base, url }).success).toBe(false);
  });

  it.each([
    'javascript:alert(1)',
    'data:image/png;base64,iVBORw0KGgo=',
    'ftp://files.example.test/a.png',
    'file:///etc/passwd',
  ])('refuses %j as the image', (imageUrl) => {
    expect(articleInputSchema.safeParse({ ...base, imageUrl }).success).toBe(false);
  });

  it.each(['http://example.test/a', 'https://example.test/a?b=c#d', 'HTTPS://EXAMPLE.TEST/A'])(
    'accepts %j for both links',
    (url) => {
      expect(articleInputSchema.safeParse({ ...base, url, imageUrl: url }).success).toBe(true);
    },
  );

  it('trims links and refuses links over the length limit', () => {
    expect(articleInputSchema.parse({ ...base, url: '  https://example.test/a  ' }).url).toBe('https://example.test/a');
    const long = `https://example.test/${'a'.repeat(LIMITS.url)}`;
    expect(articleInputSchema.safeParse({ ...base, url: long }).success).toBe(false);
  });

  it('refuses unknown fields', () => {
    const result = articleInputSchema.safeParse({ ...base, html: '<script></script>' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.code).toBe('unrecognized_keys');
  });

  it.each([
    ['a missing title', { url: base.url }],
    ['an empty title', { ...base, title: '' }],
    ['a missing url', { title: 'A story' }],
    ['a numeric title', { ...base, title: 42 }],
    ['a position below zero', { ...base, position: -1 }],
    ['a fractional position', { ...base, position: 1.5 }],
    ['a string for selected', { ...base, selected: 'yes' }],
    ['an invalid date', { ...base, publishedAt: 'yesterday-ish' }],
  ])('refuses %s', (_label, input) => {
    expect(articleInputSchema.safeParse(input).success).toBe(false);
  });
});

describe('toPlainText', () => {
  it.each([
    ['plain text', 'Just text', 'Just text'],
    ['paragraphs', '<p>First</p><p>Second</p>', 'First Second'],
    ['inline markup', 'A <b>bold</b> and <i>quiet</i> <a href="https://x.test">link</a>', 'A bold and quiet link'],
    ['headings, not upper-cased', '<h1>Big News</h1><h2>Smaller</h2><h3>Small</h3>', 'Big News Smaller Small'],
    ['images', 'Before <img src="https://x.test/a.png" alt="alt text"> after', 'Before after'],
    [
      'scripts and styles',
      '<p>Hi</p><script>alert("x")</script><style>p { color: red }</style><p>there</p>',
      'Hi there',
    ],
    ['entities', 'Tom &amp; Jerry &lt;3 caf&eacute; &quot;q&quot; &#8364;5', 'Tom & Jerry <3 café "q" €5'],
    ['line breaks and tabs', 'one\ntwo\r\nthree\tfour', 'one two three four'],
    ['runs of spaces', '  lots   of    space  ', 'lots of space'],
    ['control characters', 'a\u0000b\u0007c\u001bd\u007fe', 'a b c d e'],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a b c'],
    ['non-breaking spaces', 'a\u00a0\u00a0b', 'a b'],
    ['only markup', '<div><span></span></div>', ''],
  ])('reduces %s to one clean line', (_label, input, expected) => {
    expect(toPlainText(input, 200)).toBe(expected);
  });

  it('keeps text that fits exactly', () => {
    expect(toPlainText('x'.repeat(10), 10)).toBe('x'.repeat(10));
  });

  it('shortens text over the limit to the limit, ending in an ellipsis', () => {
    const result = toPlainText('x'.repeat(11), 10);
    expect(result).toBe(`${'x'.repeat(9)}…`);
    expect(result).toHaveLength(10);
  });

  it('drops spaces before the ellipsis', () => {
    expect(toPlainText('abcd     efgh', 6)).toBe('abcd…');
  });

  it('applies the limit to the text, not to the markup', () => {
    expect(toPlainText(`<p class="${'c'.repeat(500)}">short</p>`, 10)).toBe('short');
  });
});

describe('normalizeArticle', () => {
  it('stores clean plain text within the limits', () => {
    const article = normalize({
      title: `<h1>Breaking:</h1> <em>${'word '.repeat(100)}</em>`,
      summary: `<p>${'Sentence. '.repeat(100)}</p><script>track()</script>`,
      imageAlt: 'A &quot;photo&quot;\nof things',
      section: '<b>World</b>',
    });
    expect(article.title.length).toBe(LIMITS.title);
    expect(article.title.startsWith('Breaking: word word')).toBe(true);
    expect(article.title.endsWith('…')).toBe(true);
    expect(article.summary.length).toBeLessThanOrEqual(LIMITS.summary);
    expect(article.summary).not.toContain('track');
    expect(article.summary.endsWith('…')).toBe(true);
    expect(article.imageAlt).toBe('A "photo" of things');
    expect(article.section).toBe('World');
  });

  it('keeps what an editor typed as text: markup-like characters stay, only line breaks and controls become spaces', () => {
    const article = normalize(
      {
        title: 'x<y and y>z',
        summary: 'Why <script> still works & why\nit matters',
        imageAlt: '<b>bold</b>\u0007',
        section: 'A < B',
      },
      ADMIN_SOURCE,
    );
    expect(article).toMatchObject({
      title: 'x<y and y>z',
      summary: 'Why <script> still works & why it matters',
      imageAlt: '<b>bold</b>',
      section: 'A < B',
    });
  });

  it('shortens a long section name', () => {
    expect(normalize({ section: 's'.repeat(100) }).section).toBe(`${'s'.repeat(LIMITS.section - 1)}…`);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', ' \n\t '],
    ['only markup', '<b></b>'],
  ])("puts an article whose section is %s under 'News'", (_label, section) => {
    expect(normalize(section === undefined ? {} : { section }).section).toBe('News');
  });

  it('uses the url as the id when there is none', () => {
    const article = normalize();
    expect(article.id).toBe(base.url);
    expect(article.key).toBe(articleKey(base.url));
  });

  it('uses the given id, trimmed', () => {
    const article = normalize({ id: '  tag:news.example.test,2026:42  ' });
    expect(article.id).toBe('tag:news.example.test,2026:42');
    expect(article.key).toBe(articleKey('tag:news.example.test,2026:42'));
  });

  it('derives a stable, key-safe key from the id', () => {
    const first = normalize({ id: 'guid-1', title: 'First title' });
    const again = normalize({ id: 'guid-1', title: 'Changed title', url: 'https://elsewhere.example.test/' });
    const other = normalize({ id: 'guid-2' });
    expect(first.key).toMatch(/^[0-9a-f]{24}$/);
    expect(again.key).toBe(first.key);
    expect(other.key).not.toBe(first.key);
  });

  it('keeps links and curation as given and stamps source and times', () => {
    const article = normalize({
      imageUrl: 'https://img.example.test/a.png',
      selected: false,
      position: 4,
      publishedAt: '2026-11-24T08:00:00Z',
    });
    expect(article).toMatchObject({
      url: base.url,
      imageUrl: 'https://img.example.test/a.png',
      selected: false,
      position: 4,
      source: 'https://news.example.org/rss',
      publishedAt: new Date('2026-11-24T08:00:00Z'),
      updatedAt: NOW,
    });
  });

  it('keeps links in their one WHATWG form: non-ASCII percent-encoded, hosts in punycode', () => {
    const article = normalize({
      url: 'https://news.example/€uro/ニュース?q=東京&x=café',
      imageUrl: 'https://bücher.example/bild.jpg',
    });
    expect(article.url).toBe(
      'https://news.example/%E2%82%ACuro/%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9?q=%E6%9D%B1%E4%BA%AC&x=caf%C3%A9',
    );
    expect(article.imageUrl).toBe('https://xn--bcher-kva.example/bild.jpg');
  });

  it('dates an article without a date at the time of intake', () => {
    expect(normalize().publishedAt).toEqual(NOW);
  });
});

describe('toPlainText at the length limit', () => {
  it('counts characters, not UTF-16 units, and never cuts an emoji in half', () => {
    const text = toPlainText(`${'a'.repeat(8)}😀bbbb`, 10);
    expect(text).toBe(`${'a'.repeat(8)}😀…`);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
