import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { mjmlCompiles } from './metrics.ts';

export const TEMPLATES_DIR = resolve(fileURLToPath(new URL('../../templates', import.meta.url)));

/**
 * The email templates in `templates/`: Handlebars fills in the content (escaping every value),
 * MJML turns the result into email-safe HTML. Per-recipient values stay as `%%name%%`
 * placeholders for the message template to substitute at send time.
 */
export class EmailTemplates {
  private readonly handlebars = Handlebars.create();
  private readonly compiled = new Map<string, Handlebars.TemplateDelegate>();

  constructor(private readonly dir = TEMPLATES_DIR) {
    const partials = join(dir, 'partials');
    for (const file of readdirSync(partials)) {
      this.handlebars.registerPartial(basename(file).replace(/\.[^.]+$/, ''), readFileSync(join(partials, file), 'utf8'));
    }
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

  /** One MJML compilation: call once per edition (or per transactional template), never per recipient. */
  async html(name: string, context: object): Promise<string> {
    const result = await mjml2html(this.template(`${name}.mjml`, true)(context), { validationLevel: 'strict' });
    mjmlCompiles.inc({ template: name });
    return result.html;
  }

  text(name: string, context: object): string {
    return this.template(`${name}.txt`, false)(context).replace(/\n{3,}/g, '\n\n').trim() + '\n';
  }
}
