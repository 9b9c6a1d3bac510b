import { html, SafeHtml } from '../platform/html.ts';
import type { Locale } from '../platform/locale.ts';
import type { EditionSummary } from '../editions/edition-store.ts';
import type { MailFormat, Subscriber } from '../subscribers/subscriber-store.ts';

/** Logical properties (`inline-start`) so that the pages read right to left as well. */
const STYLE = `
  body { font-family: Georgia, 'Times New Roman', serif; background: #f4f1ea; color: #1a1a1a; margin: 0; }
  main { max-width: 560px; margin: 48px auto; background: #fff; padding: 32px 36px; border-top: 4px solid #1a1a1a; }
  h1 { font-size: 30px; margin: 0 0 8px; }
  p { font-size: 17px; line-height: 1.5; }
  label { display: block; font: 14px Helvetica, Arial, sans-serif; margin: 16px 0 4px; color: #444; }
  input[type=email], input[type=text] { width: 100%; box-sizing: border-box; font-size: 17px; padding: 10px; border: 1px solid #bbb; border-radius: 4px; }
  button { margin-top: 20px; font: bold 16px Helvetica, Arial, sans-serif; color: #fff; background: #8a1c1c; border: 0; border-radius: 4px; padding: 12px 20px; cursor: pointer; }
  fieldset { border: 0; padding: 0; margin: 16px 0 0; }
  legend { font: 14px Helvetica, Arial, sans-serif; color: #444; padding: 0; }
  fieldset label { margin: 6px 0; color: #1a1a1a; }
  .archive { padding-inline-start: 18px; line-height: 1.7; }
  .note { font: 13px Helvetica, Arial, sans-serif; color: #666; }
  .error { color: #8a1c1c; font-weight: bold; }
  @media (max-width: 600px) { main { margin: 0; padding: 24px 20px; } }
`;

/** What every reader page knows: the newsletter's name and the readers' language. */
export interface PageContext {
  newsletterName: string;
  locale: Locale;
}

export function page(title: string, body: SafeHtml, { newsletterName, locale }: PageContext): string {
  return html`<!doctype html>
<html lang="${locale.lang}" dir="${locale.dir}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${newsletterName}</title><style>${new SafeHtml(STYLE)}</style></head>
<body><main>${body}</main></body></html>`.value;
}

export function subscribePage({ newsletterName, locale }: PageContext, sendTime: string, error?: string): SafeHtml {
  return html`<h1>${newsletterName}</h1>
<p>${locale.t('page.subscribe.lead', { time: sendTime })}</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/subscribe">
  <label for="email">${locale.t('page.subscribe.email')}</label>
  <input id="email" name="email" type="email" required maxlength="254" autocomplete="email" dir="ltr">
  <label for="name">${locale.t('page.subscribe.name')}</label>
  <input id="name" name="name" type="text" maxlength="100" autocomplete="given-name" dir="auto">
  <button type="submit">${locale.t('page.subscribe.button')}</button>
</form>
<p class="note">${locale.t('page.subscribe.note')}</p>
<p class="note"><a href="/editions">${locale.t('page.subscribe.archive')}</a></p>`;
}

export function archivePage(
  editions: EditionSummary[],
  { newsletterName, locale }: PageContext,
  timeZone: string,
): SafeHtml {
  const day = (edition: EditionSummary) => locale.date(edition.cutoff, timeZone, { dateStyle: 'long' });
  return html`<h1>${locale.t('page.archive.title')}</h1>
${editions.length ? html`<ul class="archive">${editions.map((edition) => html`<li><a href="/editions/${edition.id}">${day(edition)}</a> · <span dir="auto">${edition.subject}</span></li>`)}</ul>` : html`<p>${locale.t('page.archive.empty')}</p>`}
<p class="note"><a href="/">${locale.t('page.archive.subscribe', { newsletter: newsletterName })}</a></p>`;
}

/** For a reader who followed Unsubscribe or Preferences from the browser version: their own links are in their email. */
export function manageSubscriptionPage({ newsletterName, locale }: PageContext): SafeHtml {
  return html`<h1>${locale.t('page.manage.heading')}</h1>
<p>${locale.t('page.manage.text', { newsletter: newsletterName })}</p>
<p class="note"><a href="/">${locale.t('page.manage.subscribe', { newsletter: newsletterName })}</a></p>`;
}

export function messagePage(heading: string, text: string | SafeHtml): SafeHtml {
  return html`<h1>${heading}</h1><p>${text}</p>`;
}

export function confirmPage(token: string, email: string, { newsletterName, locale }: PageContext): SafeHtml {
  return html`<h1>${locale.t('page.confirm.heading')}</h1>
<p>${locale.html('page.confirm.text', { newsletter: newsletterName, email: html`<strong dir="ltr">${email}</strong>` })}</p>
<form method="post" action="/confirm?token=${token}">
  <button type="submit">${locale.t('confirm.button')}</button>
</form>
<p class="note">${locale.t('page.confirm.note')}</p>`;
}

export function unsubscribeConfirmPage(token: string, { newsletterName, locale }: PageContext): SafeHtml {
  return html`<h1>${locale.t('email.unsubscribe')}</h1>
<p>${locale.t('page.unsubscribe.text', { newsletter: newsletterName })}</p>
<form method="post" action="/unsubscribe?token=${token}">
  <button type="submit">${locale.t('email.unsubscribe')}</button>
</form>`;
}

export function preferencesPage(
  token: string,
  subscriber: Subscriber,
  { newsletterName, locale }: PageContext,
  notice = '',
): SafeHtml {
  const { email, name, state, format } = subscriber;
  const formatChoice = (value: MailFormat, label: string) =>
    html`<label><input type="radio" name="format" value="${value}"${format === value ? new SafeHtml(' checked') : ''}> ${label}</label>`;
  const who = { newsletter: newsletterName, email: html`<strong dir="ltr">${email}</strong>` };
  return html`<h1>${locale.t('page.preferences.heading')}</h1>
${notice ? html`<p role="status">${notice}</p>` : ''}
<p>${state === 'confirmed' ? locale.html('page.preferences.receiving', who) : locale.html('page.preferences.state', { ...who, state: locale.t(`state.${state}`) })}</p>
<form method="post" action="/preferences?token=${token}">
  <label for="name">${locale.t('page.preferences.name')}</label>
  <input id="name" name="name" type="text" maxlength="100" value="${name}" autocomplete="given-name" dir="auto">
  <fieldset><legend>${locale.t('page.preferences.format')}</legend>
  ${formatChoice('html', locale.t('page.preferences.html'))}
  ${formatChoice('text', locale.t('page.preferences.text'))}
  </fieldset>
  <button type="submit">${locale.t('page.preferences.save')}</button>
</form>
${state === 'confirmed' ? html`<form method="post" action="/unsubscribe?token=${token}"><button type="submit">${locale.t('email.unsubscribe')}</button></form>` : html`<p><a href="/">${locale.t('page.preferences.subscribeAgain')}</a></p>`}`;
}
