import { html, SafeHtml } from '../platform/html.ts';
import type { EditionSummary } from '../editions/edition-store.ts';
import type { MailFormat, Subscriber } from '../subscribers/subscriber-store.ts';

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
  .archive { padding-left: 18px; line-height: 1.7; }
  .note { font: 13px Helvetica, Arial, sans-serif; color: #666; }
  .error { color: #8a1c1c; font-weight: bold; }
`;

export function page(title: string, body: SafeHtml, newsletterName: string): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${newsletterName}</title><style>${new SafeHtml(STYLE)}</style></head>
<body><main>${body}</main></body></html>`.value;
}

export function subscribePage(newsletterName: string, sendTime: string, error?: string): SafeHtml {
  return html`<h1>${newsletterName}</h1>
<p>Every evening at ${sendTime}: the day's essential hard news and our best feature journalism, chosen by our editors, in one email.</p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/subscribe">
  <label for="email">Email address</label>
  <input id="email" name="email" type="email" required maxlength="254" autocomplete="email">
  <label for="name">First name (optional)</label>
  <input id="name" name="name" type="text" maxlength="100" autocomplete="given-name">
  <button type="submit">Subscribe</button>
</form>
<p class="note">We will send you one email to confirm. You can leave with one click at the bottom of every edition.</p>
<p class="note"><a href="/editions">Read past editions</a></p>`;
}

export function archivePage(editions: EditionSummary[], newsletterName: string): SafeHtml {
  return html`<h1>Past editions</h1>
${editions.length ? html`<ul class="archive">${editions.map((edition) => html`<li><a href="/editions/${edition.id}">${edition.id}</a> · ${edition.subject}</li>`)}</ul>` : html`<p>No edition has been sent yet.</p>`}
<p class="note"><a href="/">Subscribe to ${newsletterName}</a></p>`;
}

export function messagePage(heading: string, text: string): SafeHtml {
  return html`<h1>${heading}</h1><p>${text}</p>`;
}

export function confirmPage(token: string, email: string, newsletterName: string): SafeHtml {
  return html`<h1>Confirm your subscription</h1>
<p>Receive ${newsletterName} at <strong>${email}</strong>, one email every evening?</p>
<form method="post" action="/confirm?token=${token}">
  <button type="submit">Confirm my subscription</button>
</form>
<p class="note">If you did not ask for this, close this page: without a confirmation you will get nothing more from us.</p>`;
}

export function unsubscribeConfirmPage(token: string, newsletterName: string): SafeHtml {
  return html`<h1>Unsubscribe</h1>
<p>Stop receiving ${newsletterName}? You will get no further editions.</p>
<form method="post" action="/unsubscribe?token=${token}">
  <button type="submit">Unsubscribe</button>
</form>`;
}

export function preferencesPage(token: string, subscriber: Subscriber, newsletterName: string, notice = ''): SafeHtml {
  const { email, name, state, format } = subscriber;
  const formatChoice = (value: MailFormat, label: string) =>
    html`<label><input type="radio" name="format" value="${value}"${format === value ? new SafeHtml(' checked') : ''}> ${label}</label>`;
  return html`<h1>Your subscription</h1>
${notice ? html`<p role="status">${notice}</p>` : ''}
<p>${newsletterName} for <strong>${email}</strong>: ${state === 'confirmed' ? 'you receive it every evening.' : `currently ${state}.`}</p>
<form method="post" action="/preferences?token=${token}">
  <label for="name">How we greet you (optional)</label>
  <input id="name" name="name" type="text" maxlength="100" value="${name}" autocomplete="given-name">
  <fieldset><legend>Email format</legend>
  ${formatChoice('html', 'Designed (with a plain-text copy for simple mail programs)')}
  ${formatChoice('text', 'Plain text only')}
  </fieldset>
  <button type="submit">Save</button>
</form>
${state === 'confirmed' ? html`<form method="post" action="/unsubscribe?token=${token}"><button type="submit">Unsubscribe</button></form>` : html`<p><a href="/">Subscribe again</a></p>`}`;
}
