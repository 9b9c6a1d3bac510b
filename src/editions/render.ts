import type { EmailTemplates } from '../platform/email-template.ts';
import { escapeHtml } from '../platform/html.ts';
import { fillPersonal, PersonalMarks, type PersonalizedText, PREVIEW_VALUES } from '../platform/personal-fields.ts';
import type { Section } from './assemble.ts';

export interface RenderedEdition {
  subject: string;
  preheader: string;
  /** Rendered once, with the positions of the per-reader values fixed (see personal-fields.ts). */
  html: PersonalizedText;
  text: PersonalizedText;
  /** With TRACKING, the article links the HTML reaches through `/t/<edition>/<index>/...`; empty otherwise. */
  links: string[];
}

export interface RenderSettings {
  newsletterName: string;
  publicUrl: string;
  timeZone: string;
  /** Count opens and clicks: the HTML's article links and an open pixel go through our `/t/` routes. */
  tracking: boolean;
}

/** Turns an edition's sections into subject, preheader, HTML (one MJML compile) and plain text. */
export class EditionRenderer {
  constructor(
    private readonly templates: EmailTemplates,
    private readonly settings: RenderSettings,
  ) {}

  /**
   * `overrides` are the editors' subject and preheader; empty ones are generated from the articles.
   * `tracking: false` is for previews and their test sends: their edition is not stored yet, so
   * tracked links would lead nowhere.
   */
  async render(editionId: string, cutoff: Date, sections: Section[], overrides = { subject: '', preheader: '' }, { tracking = this.settings.tracking } = {}): Promise<RenderedEdition> {
    const articles = sections.flatMap((section) => section.articles);
    const dateLabel = new Intl.DateTimeFormat('en-GB', { timeZone: this.settings.timeZone, dateStyle: 'full' }).format(cutoff);
    const subject = oneLine(overrides.subject) || `${this.settings.newsletterName}: ${articles[0]?.title ?? dateLabel}`;
    const preheader = oneLine(overrides.preheader) || articles.slice(1, 4).map((article) => article.title).join(' · ') || dateLabel;
    const timeFormat = new Intl.DateTimeFormat('en-GB', { timeZone: this.settings.timeZone, hour: '2-digit', minute: '2-digit', day: 'numeric', month: 'short' });
    const context = {
      title: subject,
      preheader,
      newsletterName: this.settings.newsletterName,
      dateLabel,
      publicUrl: this.settings.publicUrl,
      publicHost: new URL(this.settings.publicUrl).host,
      webUrl: `${this.settings.publicUrl}/editions/${editionId}`,
      articleCount: articles.length,
      sections: sections.map((section) => ({
        name: section.name,
        articles: section.articles.map((article) => ({
          title: article.title,
          url: article.url,
          summary: article.summary,
          imageUrl: article.imageUrl,
          imageAlt: article.imageAlt,
          publishedLabel: timeFormat.format(article.publishedAt),
        })),
      })),
    };
    const marks = new PersonalMarks();
    const text = this.templates.text('digest', context, marks);
    if (!tracking) return { subject, preheader, html: await this.templates.html('digest', context, marks), text, links: [] };
    // Only the HTML is tracked: links in the plain text stay the readable article addresses.
    const links = [...new Set(articles.map((article) => article.url))];
    const reader = marks.mark('track_token');
    const tracked = (url: string) => `${this.settings.publicUrl}/t/${editionId}/${links.indexOf(url)}/${reader}`;
    const html = await this.templates.html(
      'digest',
      {
        ...context,
        sections: context.sections.map((section) => ({ ...section, articles: section.articles.map((article) => ({ ...article, url: tracked(article.url) })) })),
        openPixelUrl: `${this.settings.publicUrl}/t/${editionId}/open/${reader}`,
      },
      marks,
    );
    return { subject, preheader, html, text, links };
  }
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- a subject is one line of text
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 200);
}

/** The stored HTML filled for a reader who is not one recipient in particular. */
export function browserView(html: PersonalizedText): string {
  return fillPersonal(html, PREVIEW_VALUES, escapeHtml);
}

/** The plain-text twin filled the same way (the console's text preview). */
export function textView(text: PersonalizedText): string {
  return fillPersonal(text, PREVIEW_VALUES);
}
