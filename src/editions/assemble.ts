import type { Article } from '../articles/article.ts';

export interface SelectionRules {
  sectionCap: number;
  maxArticles: number;
}

export interface Section {
  name: string;
  articles: Article[];
}

/**
 * Editors' order: chosen articles by their position, then the uncurated ones newest first; left-out
 * articles never appear. Each section keeps at most `sectionCap`, the edition at most `maxArticles`.
 * Sections appear in the order of their best-placed article.
 */
export function selectArticles(articles: Article[], rules: SelectionRules): Section[] {
  const ranked = articles.filter((article) => article.selected !== false).sort((a, b) => rank(a, b));
  const sections = new Map<string, Article[]>();
  let total = 0;
  for (const article of ranked) {
    if (total >= rules.maxArticles) break;
    const list = sections.get(article.section) ?? [];
    if (list.length >= rules.sectionCap) continue;
    list.push(article);
    sections.set(article.section, list);
    total += 1;
  }
  return [...sections].map(([name, list]) => ({ name, articles: list }));
}

function rank(a: Article, b: Article): number {
  const chosenA = a.selected === true;
  const chosenB = b.selected === true;
  if (chosenA !== chosenB) return chosenA ? -1 : 1;
  if (chosenA && chosenB) {
    const byPosition = (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER);
    if (byPosition !== 0) return byPosition;
  }
  return b.publishedAt.getTime() - a.publishedAt.getTime() || a.key.localeCompare(b.key);
}
