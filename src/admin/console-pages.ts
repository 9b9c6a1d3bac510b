import type { Article } from '../articles/article.ts';
import type { FeedStatus } from '../articles/feed-poller.ts';
import type { DeliveryPace } from '../delivery/deliveries.ts';
import { DELIVERY_STATES } from '../delivery/ledger.ts';
import type { EngagementSummary } from '../delivery/engagement.ts';
import type { Draft, EditionAction } from '../editions/edition-desk.ts';
import type { FeedbackKind } from '../feedback/event.ts';
import type { EditionFeedback } from '../feedback/feedback-store.ts';
import { describeStatus, type EditionReport } from './edition-report.ts';
import { html, SafeHtml } from '../platform/html.ts';
import { SUBSCRIBER_STATES, type Subscriber, type SubscriberState } from '../subscribers/subscriber-store.ts';
import { describeImport, type ImportSummary, type RejectedRow, shownRejectedRow } from '../subscribers/imports.ts';
import type { SubscriberRecord } from './subscriber-admin.ts';
import type { AdminSession } from './sessions.ts';

const STYLE = `
  * { box-sizing: border-box; }
  body { font: 15px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0; color: #1d1d1f; background: #f6f6f4; }
  header { background: #1d1d1f; color: #fff; padding: 10px 24px; display: flex; gap: 20px; align-items: center; }
  header a { color: #ddd; text-decoration: none; } header a.on, header a:hover { color: #fff; text-decoration: underline; }
  header .who { margin-left: auto; color: #aaa; }
  main { padding: 20px 24px; max-width: 1280px; }
  h1 { font-size: 22px; margin: 4px 0 16px; } h2 { font-size: 17px; margin: 24px 0 8px; }
  table { border-collapse: collapse; width: 100%; background: #fff; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
  th { font-size: 12px; text-transform: uppercase; color: #666; }
  button, .button { font: inherit; padding: 4px 10px; border: 1px solid #999; background: #fff; border-radius: 4px; cursor: pointer; color: #1d1d1f; text-decoration: none; display: inline-block; }
  button.primary { background: #8a1c1c; color: #fff; border-color: #8a1c1c; }
  input[type=text], input[type=email], input[type=password], input[type=search], select, textarea { font: inherit; padding: 5px 8px; border: 1px solid #bbb; border-radius: 4px; }
  form.inline { display: inline; margin-right: 6px; }
  .badge { font-size: 12px; padding: 1px 7px; border-radius: 10px; background: #eee; } .badge.chosen { background: #dff3e3; } .badge.out { background: #f6dede; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; } .muted { color: #777; } .error { color: #8a1c1c; font-weight: 600; } .ok { color: #1e6b2f; font-weight: 600; }
  .card { background: #fff; border: 1px solid #e5e5e5; padding: 8px 14px; margin-bottom: 12px; } .alerts { margin: 4px 0; padding-left: 18px; }
  .counts { display: flex; gap: 12px; flex-wrap: wrap; } .count { background: #fff; border: 1px solid #e5e5e5; padding: 10px 14px; min-width: 110px; } .count b { display: block; font-size: 24px; }
  iframe { border: 1px solid #ccc; background: #fff; }
`;

const NAV = [
  ['/console', 'Today'],
  ['/console/editions', 'Editions'],
  ['/console/subscribers', 'Subscribers'],
  ['/console/feeds', 'Feeds'],
  ['/console/queues', 'Queues'],
] as const;

export function consolePage(title: string, session: AdminSession | null, body: SafeHtml, active = ''): string {
  const nav = session
    ? html`${NAV.map(([href, label]) => html`<a href="${href}" class="${active === href ? 'on' : ''}">${label}</a>`)}
<span class="who">${session.admin}</span>
<form class="inline" method="post" action="/console/logout">${csrfField(session)}<button type="submit">Log out</button></form>`
    : '';
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Evening Digest console</title><style>${new SafeHtml(STYLE)}</style><script src="/console/assets/console.js" defer></script></head>
<body><header><strong>Evening Digest</strong>${nav}</header><main><h1>${title}</h1>${body}</main></body></html>`.value;
}

export function csrfField(session: AdminSession): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}">`;
}

export function loginPage(loginCsrf: string, error = ''): SafeHtml {
  return html`${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="/console/login" style="max-width:360px">
  <input type="hidden" name="_csrf" value="${loginCsrf}">
  <p><label>Name<br><input type="text" name="name" autocomplete="username" placeholder="admin"></label></p>
  <p><label>Password or admin token<br><input type="password" name="password" required autocomplete="current-password"></label></p>
  <p><button class="primary" type="submit">Log in</button></p>
</form>`;
}

function curationButtons(session: AdminSession, article: Article): SafeHtml {
  const action = (name: string, label: string) =>
    html`<form class="inline" method="post" action="/console/articles/${article.key}/curate">${csrfField(session)}<input type="hidden" name="action" value="${name}"><button type="submit" title="${label}">${label}</button></form>`;
  return html`${article.selected === true ? '' : action('choose', 'Choose')} ${article.selected === false ? '' : action('leave-out', 'Leave out')}
${article.selected === true ? html`${action('up', '↑')} ${action('down', '↓')}` : ''} ${article.selected === null ? '' : action('reset', 'Automatic')}`;
}

export function todayPage(
  session: AdminSession,
  report: EditionReport,
  draft: Draft,
  articles: Article[],
  overrides: { subject: string; preheader: string },
  notice = '',
): SafeHtml {
  const inEdition = new Set(draft.articleKeys);
  const bySection = new Map<string, Article[]>();
  for (const article of articles) bySection.set(article.section, [...(bySection.get(article.section) ?? []), article]);
  const sections = [...bySection].map(
    ([
      section,
      list,
    ]) => html`<h2>${section}</h2><table><tr><th>Article</th><th>Published</th><th>State</th><th>Curate</th></tr>
${list.map(
  (
    article,
  ) => html`<tr data-article="${article.key}"><td><a href="${article.url}" rel="noopener noreferrer" target="_blank">${article.title}</a><br><span class="muted">${article.summary.slice(0, 160)}</span></td>
<td class="muted">${article.publishedAt.toISOString().slice(0, 16).replace('T', ' ')}</td>
<td>${article.selected === true ? html`<span class="badge chosen">chosen #${article.position ?? ''}</span>` : article.selected === false ? html`<span class="badge out">left out</span>` : html`<span class="badge">automatic</span>`}
${inEdition.has(article.key) ? html`<br><span class="muted">in the edition</span>` : html`<br><span class="muted">not in the edition</span>`}</td>
<td>${curationButtons(session, article)}</td></tr>`,
)}</table>`,
  );
  return html`${noticeLine(notice)}
${editionCard(session, report)}
<p class="muted">Articles published from ${draft.window.start.toISOString().slice(0, 16).replace('T', ' ')} UTC until ${report.status === 'open' ? 'now' : 'the cut-off'} at ${draft.window.end.toISOString().slice(0, 16).replace('T', ' ')} UTC. ${draft.articleKeys.length} in the edition.</p>
<div class="grid"><div>
<form method="post" action="/console/draft">${csrfField(session)}
  <p><label>Subject<br><input type="text" name="subject" value="${overrides.subject}" placeholder="${draft.rendered.subject}" style="width:100%" maxlength="200"></label></p>
  <p><label>Preheader<br><input type="text" name="preheader" value="${overrides.preheader}" placeholder="${draft.rendered.preheader}" style="width:100%" maxlength="200"></label></p>
  <button type="submit">Save subject and preheader</button>
</form>
<form method="post" action="/console/test-send" style="margin-top:16px">${csrfField(session)}
  <label>Send a test to <input type="email" name="to" required placeholder="editor@example.com"></label> <button type="submit">Send test</button>
</form>
${sections.length ? sections : html`<p>No articles in this window yet.</p>`}
</div><div>
<h2>Preview</h2>
${draft.rendered.omitted > 0 ? html`<p class="muted" role="note">The email carries the first ${draft.articleKeys.length - draft.rendered.omitted} of ${draft.articleKeys.length} articles and links the other ${draft.rendered.omitted} in the browser version: with all of them it would be heavier than Gmail shows whole.</p>` : ''}
<p><button type="button" data-preview-width="640">Desktop</button> <button type="button" data-preview-width="375">Mobile</button></p>
<iframe id="preview" title="Email preview" sandbox="" src="/console/preview.html" style="width:640px;height:900px"></iframe>
<h2>Plain text</h2><iframe title="Plain-text preview" src="/console/preview.txt" style="width:100%;height:300px"></iframe>
</div></div>`;
}

/** The edition's day at a glance: its status, what editors can do now, and the alerts still open. */
export function editionCard(session: AdminSession, report: EditionReport): SafeHtml {
  const form = (action: EditionAction, label: string, extra: SafeHtml | string = '', confirm = '') =>
    html`<form class="inline" method="post" action="/console/editions/${report.id}/action"${confirm ? html` data-confirm="${confirm}"` : ''}>${csrfField(session)}<input type="hidden" name="action" value="${action}">${extra}<button type="submit"${action === 'send' || action === 'approve' ? new SafeHtml(' class="primary"') : ''}>${label}</button></form>`;
  const buttons = report.actions.map((action) => {
    if (action === 'approve')
      return form(
        'approve',
        'Approve',
        '',
        'Approve this edition? It goes out at its cut-off, or now if that has passed.',
      );
    if (action === 'send')
      return form(
        'send',
        report.fresh ? 'Send now' : 'Send late',
        '',
        'Send this edition to every confirmed subscriber now?',
      );
    if (action === 'skip')
      return form(
        'skip',
        'Skip',
        html`<input type="text" name="reason" placeholder="why (for the record)" maxlength="300"> `,
      );
    return form('reopen', 'Reopen');
  });
  const open = report.alerts.filter((alert) => !alert.resolvedAt);
  return html`<div class="card" id="edition-card">
<p><strong>Edition ${report.id}</strong> · cut-off ${report.cutoff.toISOString().slice(0, 16).replace('T', ' ')} UTC · <span id="edition-status" data-status="${report.status}">${describeStatus(report)}</span></p>
${buttons.length ? html`<div id="edition-actions">${buttons}</div>` : ''}
${open.length ? html`<ul class="alerts">${open.map((alert) => html`<li class="error">${alert.text}</li>`)}</ul>` : ''}
</div>`;
}

function eventsTable(report: EditionReport): SafeHtml {
  if (report.events.length === 0) return html`<p class="muted">Nothing yet.</p>`;
  return html`<table id="events"><tr><th>When</th><th>Who</th><th>What</th><th>Status</th><th>Note</th></tr>${report.events.map(
    (event) =>
      html`<tr><td>${event.at.replace('T', ' ').slice(0, 19)}</td><td>${event.by}</td><td>${event.action}</td><td>${event.from ?? '—'} → ${event.to}</td><td>${event.note}</td></tr>`,
  )}</table>`;
}

function alertsTable(report: EditionReport): SafeHtml {
  if (report.alerts.length === 0) return html`<p class="muted">None.</p>`;
  return html`<table id="alerts"><tr><th>Raised</th><th>Alert</th><th>Resolved</th></tr>${report.alerts.map(
    (alert) =>
      html`<tr><td>${alert.raisedAt.replace('T', ' ').slice(0, 19)}</td><td>${alert.text}</td><td>${alert.resolvedAt ? html`${alert.resolvedAt.replace('T', ' ').slice(0, 19)}: ${alert.resolvedText ?? ''}` : html`<span class="error">open</span>`}</td></tr>`,
  )}</table>`;
}

export function progressPage(session: AdminSession, report: EditionReport, notice = ''): SafeHtml {
  const { progress, engagement } = report;
  const delivered = progress && (report.status === 'ready' || report.status === 'sending' || report.status === 'sent');
  return html`${noticeLine(notice)}
${editionCard(session, report)}
<p>${delivered ? html`<a href="/editions/${report.id}" target="_blank">View in browser</a> · ` : ''}status: <strong id="status">${describeStatus(report)}</strong></p>
${
  delivered && progress
    ? html`<div class="counts">${DELIVERY_STATES.map((state) => html`<div class="count"><b id="count-${state}">${progress.counts[state]}</b>${state}</div>`)}</div>
${progress.pace ? paceSection(progress.pace) : ''}
${engagement ? engagementSection(engagement, progress.counts.sent) : ''}
${report.feedback ? feedbackSection(report.feedback, progress.counts.sent) : ''}
<h2>Failures by SMTP reply</h2>
${progress.failureReasons.length ? html`<table id="failures"><tr><th>Reply</th><th>Recipients</th></tr>${progress.failureReasons.map((group) => html`<tr><td>${group.reason}</td><td>${group.count}</td></tr>`)}</table>` : html`<p class="muted" id="failures">None.</p>`}
<h2>Resend</h2>
${progress.recordsRemovedAt ? html`<p class="muted" id="records-removed">The per-recipient delivery records were removed on ${progress.recordsRemovedAt.slice(0, 10)} (LEDGER_RETENTION_DAYS), so this edition can no longer be resent. The counts above stay.</p>` : resendForms(session, report.id)}
<h2>Resends</h2>
${progress.resends.length ? html`<table id="resends"><tr><th>Run</th><th>Scope</th><th>By</th><th>When</th><th>Recipients</th></tr>${progress.resends.map((resend) => html`<tr><td>${resend.run}</td><td>${resend.scope}${resend.email ? html` (${resend.email})` : ''}</td><td>${resend.by}</td><td>${resend.at.replace('T', ' ').slice(0, 19)}</td><td>${resend.recipients}</td></tr>`)}</table>` : html`<p class="muted" id="resends">None yet.</p>`}`
    : ''
}
<h2>Its day</h2>
${eventsTable(report)}
<h2>Alerts</h2>
${alertsTable(report)}
<div id="progress" hidden data-url="/console/editions/${report.id}/progress.json" data-status="${report.status}" data-finished="${progress?.finished === false ? 'false' : 'true'}"></div>`;
}

/** How sending goes while it goes: the relays' answers per destination, and when it should end. */
function paceSection(pace: DeliveryPace): SafeHtml {
  const time = (iso: string | null) => (iso ? `${iso.slice(11, 19)} UTC` : '—');
  return html`<h2>Sending</h2>
<p id="pace">${pace.sentPerSecond} messages a second so far${pace.estimatedFinish ? html`; expected to finish around <strong id="eta">${time(pace.estimatedFinish)}</strong>` : ''}.</p>
${
  pace.destinations.length
    ? html`<table id="destinations"><tr><th>Destination</th><th>Rate now</th><th>Waiting</th><th>Throttled since</th><th>Paused until</th></tr>${pace.destinations.map(
        (entry) =>
          html`<tr><td>${entry.destination}</td><td>${entry.ratePerSecond === null ? 'not paced' : `${entry.ratePerSecond}/s`}</td><td>${entry.waiting}</td><td>${time(entry.throttledSince)}</td><td>${time(entry.pausedUntil)}</td></tr>`,
      )}</table>`
    : html`<p class="muted">No destination has asked us to slow down.</p>`
}
${
  pace.transports.length > 1 || pace.transports.some((transport) => !transport.inRotation)
    ? html`<table id="transports"><tr><th>Transport</th><th>State</th></tr>${pace.transports.map(
        (transport) =>
          html`<tr><td>${transport.name}</td><td>${transport.inRotation ? 'in rotation' : html`<span class="error">out of rotation (${transport.outages} outages in a row), probed at ${time(transport.outUntil)}</span>`}</td></tr>`,
      )}</table>`
    : ''
}`;
}

const FEEDBACK_LABELS: Record<FeedbackKind, string> = {
  hard: 'hard bounces',
  soft: 'soft bounces',
  complaint: 'complaints',
  policy: 'policy blocks',
  unsubscribe: 'unsubscribed by mail or relay',
};

/** What came back after the SMTP server accepted the edition: readers per kind and code, and the complaint rate. */
function feedbackSection(feedback: EditionFeedback, sent: number): SafeHtml {
  const rate = feedback.complaintRate === null ? '—' : `${(feedback.complaintRate * 100).toFixed(3)} %`;
  return html`<h2>Bounces and complaints</h2>
<div class="counts" id="feedback">${(Object.keys(FEEDBACK_LABELS) as FeedbackKind[]).map((kind) => html`<div class="count"><b id="feedback-${kind}">${feedback.readers[kind]}</b>${FEEDBACK_LABELS[kind]}</div>`)}</div>
<p id="complaint-rate">Complaint rate: <strong>${rate}</strong> <span class="muted">(${feedback.readers.complaint} of ${sent} sent; Gmail asks bulk senders to stay under 0.3 %). Readers are counted once per kind, whichever relay or report told us.</span></p>
${feedback.byCode.length ? html`<table id="feedback-codes"><tr><th>Kind</th><th>Code</th><th>Readers</th></tr>${feedback.byCode.map((row) => html`<tr><td>${FEEDBACK_LABELS[row.kind]}</td><td>${row.code || '—'}</td><td>${row.readers}</td></tr>`)}</table>` : html`<p class="muted">Nothing reported yet.</p>`}`;
}

function noticeLine(notice: string): SafeHtml | string {
  if (!notice) return '';
  return html`<p class="${/^(Not |Test not )/.test(notice) ? 'error' : 'ok'}" role="status">${notice}</p>`;
}

function engagementSection(engagement: EngagementSummary, sent: number): SafeHtml {
  const share = (readers: number) => (sent > 0 ? ` (${Math.round((100 * readers) / sent)}% of those sent)` : '');
  return html`<h2>Opens and clicks</h2>
<p id="engagement">Opened by about ${engagement.openedBy}${share(engagement.openedBy)} · clicked by about ${engagement.clickedBy}${share(engagement.clickedBy)}. <span class="muted">Opens are a floor and a guess at once: mail programs that block images hide them, and some (Apple Mail) load every image in advance.</span></p>
<table id="link-clicks"><tr><th>Link</th><th>Readers who clicked</th><th>All clicks</th></tr>${[...engagement.links]
    .sort((a, b) => b.clickedBy - a.clickedBy || b.clicks - a.clicks)
    .map((link) => html`<tr><td>${link.url}</td><td>${link.clickedBy}</td><td>${link.clicks}</td></tr>`)}</table>
<p class="muted">A reader counts once per link however often they come back; all clicks count every visit, the same reader's (or their mail scanner's) included.</p>`;
}

function resendForms(session: AdminSession, edition: string): SafeHtml {
  return html`<form class="inline" method="post" action="/console/editions/${edition}/resend">${csrfField(session)}<input type="hidden" name="scope" value="failed"><button type="submit">Resend to failed recipients</button></form>
<form class="inline" method="post" action="/console/editions/${edition}/resend">${csrfField(session)}<input type="hidden" name="scope" value="email"><input type="email" name="email" required placeholder="reader@example.com"> <button type="submit">Resend to one subscriber</button></form>
<form class="inline" method="post" action="/console/editions/${edition}/resend">${csrfField(session)}<input type="hidden" name="scope" value="all"><label><input type="checkbox" name="confirm" value="yes" required> I want everyone to get this edition again</label> <button type="submit">Resend to everyone</button></form>`;
}

export function editionsPage(list: EditionReport[]): SafeHtml {
  const counts = (report: EditionReport) =>
    DELIVERY_STATES.map((state) => html`<td>${report.progress?.counts[state] ?? 0}</td>`);
  return html`<table><tr><th>Edition</th><th>Status</th>${DELIVERY_STATES.map((state) => html`<th>${state}</th>`)}<th></th></tr>
${list.map((report) => html`<tr><td><a href="/console/editions/${report.id}">${report.id}</a></td><td>${describeStatus(report)}</td>${counts(report)}<td>${report.status === 'sending' || report.status === 'sent' ? html`<a href="/editions/${report.id}" target="_blank">View in browser</a>` : ''}</td></tr>`)}</table>`;
}

export function subscribersPage(
  session: AdminSession,
  query: { q: string; state: SubscriberState | '' },
  subscribers: Subscriber[],
  next: string | null,
  counts: Record<SubscriberState, number>,
  imports: ImportSummary[],
): SafeHtml {
  return html`<p class="muted">${SUBSCRIBER_STATES.map((state) => html`${state}: <strong>${counts[state]}</strong> · `)}</p>
<form method="get" action="/console/subscribers">
  <input type="search" name="q" value="${query.q}" placeholder="address starts with…"> 
  <select name="state"><option value="">any state</option>${SUBSCRIBER_STATES.map((state) => html`<option value="${state}" ${query.state === state ? 'selected' : ''}>${state}</option>`)}</select>
  <button type="submit">Search</button> <a class="button" href="/console/subscribers/export.csv">Export all as CSV</a>
</form>
<table style="margin-top:12px"><tr><th>Address</th><th>Name</th><th>State</th><th>Since</th></tr>
${subscribers.map((s) => html`<tr><td><a href="/console/subscribers/${s.id}">${s.email}</a></td><td>${s.name}</td><td>${s.state}</td><td class="muted">${s.updatedAt.slice(0, 10)}</td></tr>`)}
</table>
${subscribers.length === 0 ? html`<p class="muted">No subscribers match.</p>` : ''}
${next ? html`<p><a class="button" href="/console/subscribers?state=${query.state}&after=${next}">Next page →</a></p>` : ''}
<h2>Import a list</h2>
<form method="post" action="/console/subscribers/import?_csrf=${session.csrf}" enctype="multipart/form-data">
  <p class="muted">A CSV file of any size: <code>email,name</code> per line (separated by commas, semicolons or tabs, as its first line is), or a Mailchimp or listmonk export (columns found by their header: email, name or first name, status, opt-in time and IP). Every row is checked; rows for the same address are merged; addresses that left are never re-subscribed, and unsubscribed or cleaned rows are imported as such.</p>
  <p><label>Rows without a status column are <select name="state"><option value="confirmed">confirmed (they consented)</option><option value="unsubscribed">unsubscribed</option><option value="bounced">cleaned (bounced)</option></select></label></p>
  <p><input type="file" name="csv" accept=".csv,text/csv,text/plain" required> <button type="submit">Import</button></p>
</form>
${imports.length ? html`<table><tr><th>Import</th><th>File</th><th>By</th><th>Status</th><th>Rows</th><th>New</th><th>Rejected</th></tr>${imports.map((item) => html`<tr><td><a href="/console/subscribers/imports/${item.id}">#${item.id}</a></td><td>${item.fileName}</td><td>${item.by}</td><td>${item.status}</td><td>${item.rows}</td><td>${item.imported}</td><td>${item.rejected}</td></tr>`)}</table>` : ''}`;
}

/** One import: progress while it runs (the page reloads itself), then the report. */
export function importPage(summary: ImportSummary, rejected: RejectedRow[]): SafeHtml {
  const running = summary.status === 'receiving' || summary.status === 'received' || summary.status === 'merging';
  const skipped = Object.entries(summary.skipped);
  const skippedCount = skipped.reduce((sum, [, count]) => sum + count, 0);
  return html`${running ? html`<meta http-equiv="refresh" content="2">` : ''}
<p class="muted">${summary.fileName || 'upload'} · by ${summary.by} · started ${summary.createdAt.replace('T', ' ').slice(0, 19)} UTC</p>
<p id="import-status" role="status" class="${summary.status === 'failed' ? 'error' : summary.status === 'done' ? 'ok' : ''}">${describeImport(summary)}</p>
<div class="counts">${[
    ['rows', summary.rows],
    ['new subscribers', summary.imported],
    ['pending now confirmed', summary.confirmedExisting],
    ['now left (as the list says)', summary.leftExisting],
    ['skipped', skippedCount],
    ['duplicates merged', summary.duplicates],
    ['rejected', summary.rejected],
  ].map(([label, count]) => html`<div class="count"><b>${count}</b>${label}</div>`)}</div>
${skipped.length ? html`<h2>Skipped</h2><table><tr><th>Why</th><th>Addresses</th></tr>${skipped.map(([reason, count]) => html`<tr><td>${reason}</td><td>${count}</td></tr>`)}</table>` : ''}
${
  summary.rejected
    ? html`<h2>Rejected rows</h2><p><a class="button" href="/console/subscribers/imports/${summary.id}/rejected.csv">Download all ${summary.rejected} rejected rows (CSV)</a></p>
<table id="rejected"><tr><th>Line</th><th>Row</th><th>Why rejected</th></tr>${rejected.map(shownRejectedRow).map((row) => html`<tr><td>${row.line}</td><td>${row.text}</td><td>${row.reason}</td></tr>`)}</table>
${summary.rejected > rejected.length ? html`<p class="muted">The first ${rejected.length} are shown.</p>` : ''}`
    : ''
}
<p><a href="/console/subscribers">← Subscribers</a></p>`;
}

export function subscriberPage(session: AdminSession, record: SubscriberRecord, notice = ''): SafeHtml {
  const s = record.subscriber;
  const action = (name: string, label: string) =>
    html`<form class="inline" method="post" action="/console/subscribers/${s.id}/action">${csrfField(session)}<input type="hidden" name="action" value="${name}"><button type="submit">${label}</button></form>`;
  return html`${notice ? html`<p class="ok" role="status">${notice}</p>` : ''}
<table>
<tr><th>Address</th><td>${s.email}</td></tr><tr><th>Name</th><td>${s.name}</td></tr><tr><th>Format</th><td>${s.format === 'text' ? 'plain text' : 'HTML'}</td></tr><tr><th>State</th><td>${s.state}${s.suppressionReason ? html` (${s.suppressionReason})` : ''}</td></tr>
<tr><th>Consent</th><td>${s.consentAt ?? ''} from ${s.consentIp ?? '?'} · ${s.consentUserAgent ?? ''}</td></tr>
<tr><th>Confirmed</th><td>${s.confirmedAt ?? '—'} ${s.confirmIp ? html`from ${s.confirmIp}` : ''}</td></tr>
</table>
<p>${s.state === 'confirmed' || s.state === 'pending' ? action('unsubscribe', 'Unsubscribe') : ''} ${s.state === 'confirmed' || s.state === 'pending' ? action('suppress', 'Suppress') : ''}
${s.state === 'bounced' || s.state === 'complained' ? action('lift', 'Lift suppression') : ''}
<a class="button" href="/console/subscribers/${s.id}/export.json">Export data (JSON)</a>
<form class="inline" method="post" action="/console/subscribers/${s.id}/erase" data-confirm="Erase every record of this subscriber?">${csrfField(session)}<button type="submit">Erase (GDPR)</button></form></p>
<h2>History</h2><table><tr><th>When</th><th>From</th><th>To</th><th>Why</th><th>By</th></tr>
${record.history.map((event) => html`<tr><td>${event.at.replace('T', ' ').slice(0, 19)}</td><td>${event.from ?? '—'}</td><td>${event.to}</td><td>${event.reason}</td><td>${event.by ?? ''}</td></tr>`)}</table>
<h2>Bounces and complaints</h2>
${
  record.feedback.length
    ? html`<table id="feedback"><tr><th>When</th><th>From</th><th>What</th><th>Code</th><th>Edition</th><th>Details</th><th>Outcome</th></tr>
${record.feedback.map((report) => html`<tr><td>${report.at.replace('T', ' ').slice(0, 19)}</td><td>${report.source}</td><td>${report.kind}</td><td>${report.status ?? report.smtpCode ?? ''}</td><td>${report.edition ?? ''}</td><td class="muted">${report.diagnostic}</td><td>${report.outcome}</td></tr>`)}</table>`
    : html`<p class="muted" id="feedback">None reported.</p>`
}
<h2>Deliveries</h2><table><tr><th>Edition</th><th>State</th><th>Run</th><th>When</th><th>Reply</th></tr>
${record.deliveries.map((delivery) => html`<tr><td><a href="/console/editions/${delivery.edition}">${delivery.edition}</a></td><td>${delivery.state}</td><td>${delivery.run}</td><td>${delivery.at.toISOString().replace('T', ' ').slice(0, 19)}</td><td class="muted">${delivery.state === 'sending' ? '' : delivery.info}</td></tr>`)}</table>`;
}

export function feedsPage(session: AdminSession, feeds: FeedStatus[]): SafeHtml {
  return html`<form method="post" action="/console/feeds/poll">${csrfField(session)}<button type="submit">Poll all feeds now</button></form>
<table style="margin-top:12px"><tr><th>Feed</th><th>Last poll</th><th>Items</th><th>Added</th><th>Updated</th><th>Rejected</th><th>Last error</th></tr>
${feeds.map((feed) => html`<tr><td>${feed.url}</td><td>${feed.lastPollAt?.replace('T', ' ').slice(0, 19) ?? 'never'}</td><td>${feed.lastReport?.items ?? ''}</td><td>${feed.lastReport?.added ?? ''}</td><td>${feed.lastReport?.updated ?? ''}</td><td>${feed.lastReport?.rejected.length ?? ''}</td><td class="error">${feed.lastError ?? ''}</td></tr>`)}</table>
${feeds.length === 0 ? html`<p class="muted">No feeds configured (FEEDS).</p>` : ''}`;
}
