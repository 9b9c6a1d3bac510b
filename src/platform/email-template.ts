import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type Mjml2Html from 'mjml';
import { mjmlCompiles } from './metrics.ts';
import type { PersonalMarks, PersonalizedText } from './personal-fields.ts';

/**
 * MJML and what it pulls in (an HTML parser, CSS inliner, minifier) take ~50 MB of a process's
 * memory; delivery workers only compile the few transactional templates, once each, and most never
 * do, so it is loaded on the first compilation rather than at start.
 */
let mjml: Promise<typeof Mjml2Html> | undefined;
function loadMjml(): Promise<typeof Mjml2Html> {
  mjml ??= import('mjml').then((module) => module.default);
  return mjml;
}

export const TEMPLATES_DIR = resolve(fileURLToPath(new URL('../../templates', import.meta.url)));

/**
 * The email templates in `templates/`: Handlebars fills in the content (escaping every value),
 * MJML turns the result into email-safe HTML. A template places a reader's own values with
 * `{{personal "field"}}`; the result comes back cut at those places (see personal-fields.ts), so
 * that nothing in the content can add, move or remove one.
 */
export class EmailTemplates {
  private readonly handlebars = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();
  /** The marks of the template being filled right now (Handlebars runs synchronously). */
  private marks: PersonalMarks | null = null;

  constructor(private readonly dir = TEMPLATES_DIR) {
    const partials = join(dir, 'partials');
    for (const file of readdirSync(partials)) {
      this.handlebars.registerPartial(basename(file).replace(/\.[^.]+$/, ''), readFileSync(join(partials, file), 'utf8'));
    }
    this.handlebars.registerHelper('personal', (field: unknown) => {
      if (!this.marks) throw new Error('{{personal}} used outside a render');
      return new Handlebars.SafeString(this.marks.mark(String(field)));
    });
  }

  private template(file: string, escape: boolean): Handlebars.TemplateDelegate {
    const cacheKey = `${file}:${escape}`;
    let template = this.compiled.get(cacheKey);
    if (!template) {
      template = this.handlebars.compile(readFileSync(join(this.dir, file), 'utf8'), { strict: true, noEscape: !escape });
      this.compiled.set(cacheKey, template);
    }
    return template;
  }

  private fill(file: string, escape: boolean, context: object, marks: PersonalMarks): string {
    this.marks = marks;
    try {
      return this.template(file, escape)(context);
    } finally {
      this.marks = null;
    }
  }

  /** One MJML compilation: call once per edition (or per transactional template), never per recipient. */
  async html(name: string, context: object, marks: PersonalMarks): Promise<PersonalizedText> {
    const mjml2html = await loadMjml();
    const result = await mjml2html(this.fill(`${name}.mjml`, true, context, marks), { validationLevel: 'strict' });
    mjmlCompiles.inc({ template: name });
    return marks.split(result.html);
  }

  text(name: string, context: object, marks: PersonalMarks): PersonalizedText {
    return marks.split(this.fill(`${name}.txt`, false, context, marks).replace(/\n{3,}/g, '\n\n').trim() + '\n');
  }
}
