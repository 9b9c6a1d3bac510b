import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type Mjml2Html from 'mjml';
import { minifyEmailHtml } from './email-minify.ts';
import { escapeHtml, SafeHtml } from './html.ts';
import { type Locale, localeFor, type Params } from './locale.ts';
import type { MessageKey } from './locales/en.ts';
import { mjmlCompiles } from './metrics.ts';
import type { PersonalMarks, PersonalizedText } from './personal-fields.ts';
import { wrapText } from './text-wrap.ts';

/**
 * MJML and what it pulls in (an HTML parser, CSS inliner, minifier) take ~30 MB of a process's
 * memory; delivery workers only compile the few transactional templates, once each, and most never
 * do, so it is loaded on the first compilation rather than at start.
 */
let mjml: Promise<typeof Mjml2Html> | undefined;
function loadMjml(): Promise<typeof Mjml2Html> {
  mjml ??= import('mjml').then((module) => module.default);
  return mjml;
}

export const TEMPLATES_DIR = resolve(fileURLToPath(new URL('../../templates', import.meta.url)));

/** What a template is being filled for right now (Handlebars runs synchronously). */
interface Filling {
  marks: PersonalMarks;
  /** HTML templates escape; plain-text ones do not. */
  html: boolean;
}

/**
 * The email templates in `templates/`: Handlebars fills in the content (escaping every value),
 * MJML turns the result into email-safe HTML, which is then minified. A template places a reader's
 * own values with `{{personal "field"}}`; the result comes back cut at those places (see
 * personal-fields.ts), so that nothing in the content can add, move or remove one. Words come from
 * the locale: `{{t "key" name=value}}` (values are escaped in HTML), and `(link url text)` makes a
 * link inside a translation (in plain text, just the text).
 */
export class EmailTemplates {
  readonly locale: Locale;
  private readonly dir: string;
  private readonly handlebars = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();
  private filling: Filling | null = null;

  constructor(options: { locale?: Locale; dir?: string } = {}) {
    this.locale = options.locale ?? localeFor('en');
    this.dir = options.dir ?? TEMPLATES_DIR;
    const partials = join(this.dir, 'partials');
    for (const file of readdirSync(partials)) {
      this.handlebars.registerPartial(
        basename(file).replace(/\.[^.]+$/, ''),
        readFileSync(join(partials, file), 'utf8'),
      );
    }
    this.handlebars.registerHelper(
      'personal',
      (field: unknown) => new Handlebars.SafeString(this.current('personal').marks.mark(String(field))),
    );
    this.handlebars.registerHelper('t', (key: unknown, options: Handlebars.HelperOptions) => {
      const params = Object.fromEntries(
        Object.entries(options.hash as Record<string, unknown>).map(([name, value]) => [name, param(value)]),
      ) as Params;
      const html = this.current('t').html;
      return html
        ? new Handlebars.SafeString(this.locale.html(String(key) as MessageKey, params).value)
        : this.locale.t(String(key) as MessageKey, params);
    });
    this.handlebars.registerHelper('link', (url: unknown, text: unknown) => {
      if (!this.current('link').html) return text instanceof Handlebars.SafeString ? text.toString() : String(text);
      return new Handlebars.SafeString(`<a href="${htmlOf(url)}">${htmlOf(text)}</a>`);
    });
  }

  /** One MJML compilation, then minification: call once per edition (or per transactional template), never per recipient. */
  async html(name: string, context: object, marks: PersonalMarks): Promise<PersonalizedText> {
    const mjml2html = await loadMjml();
    const result = await mjml2html(this.fill(`${name}.mjml`, true, this.withLocale(context), marks), {
      validationLevel: 'strict',
    });
    mjmlCompiles.inc({ template: name });
    return marks.split(await minifyEmailHtml(result.html));
  }

  /** The plain-text twin, wrapped at 78 characters (links are never cut). */
  text(name: string, context: object, marks: PersonalMarks): PersonalizedText {
    const filled =
      this.fill(`${name}.txt`, false, this.withLocale(context), marks)
        .replace(/\n{3,}/g, '\n\n')
        .trim() + '\n';
    return marks.split(wrapText(filled, undefined, (line) => marks.measure(line)));
  }

  /** A partial filled as in an HTML template, without MJML: what an article weighs before it is compiled. */
  fragment(partial: string, context: object, marks: PersonalMarks): string {
    return this.fill(`partials/${partial}.mjml`, true, this.withLocale(context), marks);
  }

  /** What every template may use about the language: `lang`, `dir`, the edges text starts and ends at. */
  private withLocale(context: object): object {
    const { locale } = this;
    // Letter-spacing pulls apart the joined letters of Arabic script, so small capitals only spread out left to right.
    return {
      lang: locale.lang,
      dir: locale.dir,
      start: locale.start,
      end: locale.end,
      spacing: locale.dir === 'rtl' ? '0' : '1px',
      ...context,
    };
  }

  private current(helper: string): Filling {
    if (!this.filling) throw new Error(`{{${helper}}} used outside a render`);
    return this.filling;
  }

  private template(file: string, escape: boolean): Handlebars.TemplateDelegate {
    const cacheKey = `${file}:${escape}`;
    let template = this.compiled.get(cacheKey);
    if (!template) {
      template = this.handlebars.compile(readFileSync(join(this.dir, file), 'utf8'), {
        strict: true,
        noEscape: !escape,
      });
      this.compiled.set(cacheKey, template);
    }
    return template;
  }

  private fill(file: string, escape: boolean, context: object, marks: PersonalMarks): string {
    this.filling = { marks, html: escape };
    try {
      return this.template(file, escape)(context);
    } finally {
      this.filling = null;
    }
  }
}

/** A helper's argument as a translation's value: what the templates built (markers, links) stays markup. */
function param(value: unknown): Params[string] {
  if (value instanceof Handlebars.SafeString) return new SafeHtml(value.toString());
  return typeof value === 'number' ? value : String(value ?? '');
}

function htmlOf(value: unknown): string {
  return value instanceof Handlebars.SafeString ? value.toString() : escapeHtml(String(value ?? ''));
}
