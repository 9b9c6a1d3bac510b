import type { Article } from '../articles/article.ts';
import type { EmailTemplates } from '../platform/email-template.ts';
import { escapeHtml } from '../platform/html.ts';
import { type Locale, localeFor } from '../platform/locale.ts';
import { fillPersonal, PersonalMarks, type PersonalizedText, previewValues } from '../platform/personal-fields.ts';
import type { Section } from './assemble.ts';
import { EMAIL_HTML_BUDGET, emailWeight, keepWithin } from './email-weight.ts';

export interface RenderedEdition {
  subject: string;
  preheader: string;
  /** The email, rendered once, with the positions of the per-reader values fixed (see personal-fields.ts). */
  html: PersonalizedText;
  /** The browser version (`/editions/:id`): every article. The same as `html` unless the email left some out. */
  web: PersonalizedText;
  text: PersonalizedText;
  /** With TRACKING, the article links the HTML reaches through `/t/<edition>/<index>/...`; empty otherwise. */
  links: string[];
  /** Articles the email leaves to the browser version, linked as "N more stories" (to stay under EMAIL_HTML_BUDGET). */
  omitted: number;
}

export interface RenderSettings {
  newsletterName: string;
  publicUrl: string;
  timeZone: string;
  /** Count opens and clicks: the HTML's article links and an open pixel go through our `/t/` routes. */
  tracking: boolean;
}

interface ArticleView {
  title: string;
  url: string;
  summary: string;
  imageUrl: string;
  imageAlt: string;
  publishedLabel: string;
  /** Its number in the plain text's list of links. */
  ref: number;
}

interface SectionView {
  name: string;
  articles: ArticleView[];
}

/**
 * Turns an edition's sections into subject, preheader, the email's HTML and plain text, and the
 * browser version. One MJML compile gives the full edition; when it fits EMAIL_HTML_BUDGET it is
 * both the email and the browser version. When it does not, the email keeps the first articles that
 * fit (one more compile, rarely two) and links the rest in the browser version.
 */
export class EditionRenderer {
  constructor(
    private readonly templates: EmailTemplates,
    private readonly settings: RenderSettings,
  ) {}

  get locale(): Locale {
    return this.templates.locale;
  }

  /**
   * `overrides` are the editors' subject and preheader; empty ones are generated from the articles.
   * `tracking: false` is for previews and their test sends: their edition is not stored yet, so
   * tracked links would lead nowhere.
   */
  async render(
    editionId: string,
    cutoff: Date,
    sections: Section[],
    overrides = { subject: '', preheader: '' },
    { tracking = this.settings.tracking } = {},
  ): Promise<RenderedEdition> {
    const { locale, settings } = this;
    const articles = sections.flatMap((section) => section.articles);
    const dateLabel = locale.date(cutoff, settings.timeZone, { dateStyle: 'full' });
    const subject = oneLine(overrides.subject) || `${settings.newsletterName}: ${articles[0]?.title ?? dateLabel}`;
    const preheader =
      oneLine(overrides.preheader) ||
      articles
        .slice(1, 4)
        .map((article) => article.title)
        .join(' · ') ||
      dateLabel;
    const marks = new PersonalMarks();
    // Only the HTML is tracked: links in the plain text stay the readable article addresses.
    const links = tracking ? [...new Set(articles.map((article) => article.url))] : [];
    const reader = tracking ? marks.mark('track_token') : '';
    const webUrl = `${settings.publicUrl}/editions/${editionId}`;
    const common = {
      title: subject,
      preheader,
      newsletterName: settings.newsletterName,
      dateLabel,
      publicUrl: settings.publicUrl,
      publicHost: new URL(settings.publicUrl).host,
      webUrl,
      articleCount: articles.length,
      ...(tracking ? { openPixelUrl: `${settings.publicUrl}/t/${editionId}/open/${reader}` } : {}),
    };
    const views = this.sectionViews(
      sections,
      tracking ? (url) => `${settings.publicUrl}/t/${editionId}/${links.indexOf(url)}/${reader}` : (url) => url,
    );

    const web = await this.templates.html('digest', { ...common, sections: views, moreCount: 0 }, marks);
    let html = web;
    let keep = articles.length;
    let excess = emailWeight(web, settings.publicUrl) - EMAIL_HTML_BUDGET;
    if (excess > 0) {
      const weights = views.flatMap((section) =>
        section.articles.map((article) => Buffer.byteLength(this.templates.fragment('article', article, marks))),
      );
      for (let first = true; excess > 0 && keep > 0; first = false) {
        keep = keepWithin(weights, keep, excess, first);
        html = await this.templates.html(
          'digest',
          { ...common, sections: firstArticles(views, keep), moreCount: articles.length - keep },
          marks,
        );
        excess = emailWeight(html, settings.publicUrl) - EMAIL_HTML_BUDGET;
      }
    }
    const textSections = firstArticles(
      this.sectionViews(sections, (url) => url),
      keep,
    );
    const references = [
      ...new Set(textSections.flatMap((section) => section.articles.map((article) => article.url))),
    ].map((url, index) => ({ number: index + 1, url }));
    const text = this.templates.text(
      'digest',
      { ...common, sections: textSections, moreCount: articles.length - keep, references },
      marks,
    );
    return { subject, preheader, html, web, text, links, omitted: articles.length - keep };
  }

  private sectionViews(sections: Section[], linkTo: (url: string) => string): SectionView[] {
    const timeFormat = (date: Date) =>
      this.locale.date(date, this.settings.timeZone, {
        hour: '2-digit',
        minute: '2-digit',
        day: 'numeric',
        month: 'short',
      });
    const refs = new Map<string, number>();
    const view = (article: Article): ArticleView => {
      if (!refs.has(article.url)) refs.set(article.url, refs.size + 1);
      return {
        title: article.title,
        url: linkTo(article.url),
        summary: article.summary,
        imageUrl: article.imageUrl,
        imageAlt: article.imageAlt,
        publishedLabel: timeFormat(article.publishedAt),
        ref: refs.get(article.url) ?? 0,
      };
    };
    // Articles without a section are "More news" next to named sections, and need no heading alone.
    return sections.map((section) => ({
      name: section.name || (sections.length > 1 ? this.locale.t('digest.otherSection') : ''),
      articles: section.articles.map(view),
    }));
  }
}

/** The first `count` articles in their sections, leaving out sections that have none left. */
function firstArticles(sections: SectionView[], count: number): SectionView[] {
  let left = count;
  return sections.flatMap((section) => {
    const articles = section.articles.slice(0, Math.max(0, left));
    left -= articles.length;
    return articles.length > 0 ? [{ ...section, articles }] : [];
  });
}

function oneLine(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- a subject is one line of text
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .trim()
      .slice(0, 200)
  );
}

/** The stored HTML filled for a reader who is not one recipient in particular. */
export function browserView(html: PersonalizedText, locale: Locale = localeFor('en')): string {
  return fillPersonal(html, previewValues(locale), escapeHtml);
}

/** The plain-text twin filled the same way (the console's text preview). */
export function textView(text: PersonalizedText, locale: Locale = localeFor('en')): string {
  return fillPersonal(text, previewValues(locale));
}
