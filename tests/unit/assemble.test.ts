import { describe, expect, it } from 'vitest';
import type { Article } from '../../src/articles/article.ts';
import { type Section, selectArticles } from '../../src/editions/assemble.ts';

/** An article named `key`, published `hour` o'clock on the edition day, uncurated unless told. */
function article(key: string, hour: number, overrides: Partial<Article> = {}): Article {
  return {
    key,
    id: `https://news.example.test/${key}`,
    url: `https://news.example.test/${key}`,
    title: `Title ${key}`,
    summary: '',
    imageUrl: '',
    imageAlt: '',
    section: 'News',
    publishedAt: new Date(Date.UTC(2026, 10, 25, hour)),
    source: 'test',
    selected: null,
    position: null,
    updatedAt: new Date(Date.UTC(2026, 10, 25, 18)),
    editionId: null,
    ...overrides,
  };
}

const chosen = (key: string, position: number | null, section = 'News', hour = 8): Article =>
  article(key, hour, { selected: true, position, section });

const loose = { sectionCap: 100, maxArticles: 100 };

/** `Section: key key | Section: key` for compact expectations. */
const layout = (sections: Section[]) =>
  sections.map((s) => `${s.name}: ${s.articles.map((a) => a.key).join(' ')}`).join(' | ');
const keys = (sections: Section[]) => sections.flatMap((s) => s.articles.map((a) => a.key));

describe('selectArticles', () => {
  it('puts chosen articles first by position, then uncurated ones newest first', () => {
    const articles = [
      article('old', 6),
      chosen('second', 2, 'News', 5),
      article('new', 17),
      chosen('first', 1, 'News', 3),
      article('middle', 12),
      chosen('third', 3, 'News', 17),
    ];
    expect(keys(selectArticles(articles, loose))).toEqual(['first', 'second', 'third', 'new', 'middle', 'old']);
  });

  it('leaves out articles the editors left out', () => {
    const articles = [article('in', 9), article('out', 10, { selected: false, position: 1 }), chosen('picked', 1)];
    expect(keys(selectArticles(articles, loose))).toEqual(['picked', 'in']);
  });

  it('puts chosen articles without a position after those with one', () => {
    const articles = [chosen('unplaced', null, 'News', 17), chosen('placed', 9), article('uncurated', 18)];
    expect(keys(selectArticles(articles, loose))).toEqual(['placed', 'unplaced', 'uncurated']);
  });

  it('orders chosen articles with the same position newest first', () => {
    const articles = [chosen('older', 1, 'News', 7), chosen('newer', 1, 'News', 9)];
    expect(keys(selectArticles(articles, loose))).toEqual(['newer', 'older']);
  });

  it('ignores a position on an uncurated article', () => {
    const articles = [article('positioned', 8, { position: 0 }), article('newest', 10)];
    expect(keys(selectArticles(articles, loose))).toEqual(['newest', 'positioned']);
  });

  it('orders articles published at the same time by key, so the result does not depend on input order', () => {
    const articles = [article('b', 10), article('c', 10), article('a', 10)];
    expect(keys(selectArticles(articles, loose))).toEqual(['a', 'b', 'c']);
    expect(keys(selectArticles([...articles].reverse(), loose))).toEqual(['a', 'b', 'c']);
  });

  it('groups by section in the order of each section’s best-placed article', () => {
    const articles = [
      article('sport-new', 16, { section: 'Sport' }),
      article('world-old', 7, { section: 'World' }),
      chosen('culture-top', 1, 'Culture'),
      article('culture-new', 15, { section: 'Culture' }),
      article('world-new', 17, { section: 'World' }),
    ];
    expect(layout(selectArticles(articles, loose))).toBe(
      'Culture: culture-top culture-new | World: world-new world-old | Sport: sport-new',
    );
  });

  it('keeps at most sectionCap articles per section, the best-placed ones', () => {
    const articles = [
      ...[1, 2, 3, 4].map((hour) => article(`news-${hour}`, hour)),
      chosen('news-top', 1),
      article('sport-1', 5, { section: 'Sport' }),
    ];
    expect(layout(selectArticles(articles, { sectionCap: 2, maxArticles: 100 }))).toBe(
      'News: news-top news-4 | Sport: sport-1',
    );
  });

  it('fills the edition from other sections once one section is full', () => {
    const articles = [
      ...[10, 11, 12].map((hour) => article(`news-${hour}`, hour)),
      article('world-1', 1, { section: 'World' }),
    ];
    expect(layout(selectArticles(articles, { sectionCap: 2, maxArticles: 3 }))).toBe(
      'News: news-12 news-11 | World: world-1',
    );
  });

  it('keeps at most maxArticles in all, the best-placed ones', () => {
    const articles = [chosen('a', 2, 'World'), chosen('b', 1), article('c', 10, { section: 'Sport' }), article('d', 9)];
    expect(layout(selectArticles(articles, { sectionCap: 10, maxArticles: 3 }))).toBe('News: b | World: a | Sport: c');
  });

  it.each([
    ['no articles', [], loose],
    ['only left-out articles', [article('x', 1, { selected: false })], loose],
    ['maxArticles 0', [article('x', 1)], { sectionCap: 5, maxArticles: 0 }],
  ])('returns no sections for %s', (_label, articles, rules) => {
    expect(selectArticles(articles, rules)).toEqual([]);
  });

  it('does not reorder the array it is given', () => {
    const articles = [article('a', 1), article('b', 2)];
    selectArticles(articles, loose);
    expect(articles.map((a) => a.key)).toEqual(['a', 'b']);
  });
});
