import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { MessageTemplate, MissingPersonalValue, type RecipientHeaders } from '../../src/delivery/message-template.ts';
import { formatMailbox } from '../../src/delivery/mime-encoding.ts';
import type { PersonalValues } from '../../src/platform/personal-fields.ts';
import { personalized } from '../support/personalized.ts';

const DATE = new Date('2026-11-25T18:30:00Z');

function template(overrides: { subject?: string; html?: string; text?: string } = {}): MessageTemplate {
  return new MessageTemplate({
    from: formatMailbox('digest@example.test', 'Abendblatt Köln'),
    subject: overrides.subject ?? 'Die Abendausgabe – Grüße 📰',
    html: personalized(
      overrides.html ?? '<p>{{greeting}}</p>\n<p>Sent to {{email}}.</p>\n<a href="{{unsubscribe_url}}">Unsubscribe</a>',
    ),
    text: personalized(overrides.text ?? '{{greeting}}\n\nSent to {{email}}.\nUnsubscribe: {{unsubscribe_url}}'),
    headers: { 'List-Id': 'Evening Digest <digest.example.test>' },
  });
}

const alice: RecipientHeaders = {
  to: 'alice@example.test',
  messageId: '<2026-11-25.alice@example.test>',
  headers: { 'List-Unsubscribe': '<https://example.test/u/abc>', 'X-Edition': '2026-11-25' },
};

const aliceValues: PersonalValues = {
  greeting: 'Good evening, Alice',
  email: 'alice@example.test',
  unsubscribe_url: 'https://example.test/u/abc?x=1&y=2',
};

/** The HTML and text parts exactly as sent, without mailparser's conversions. */
async function parts(raw: Buffer) {
  const mail = await simpleParser(raw);
  return { mail, html: String(mail.html), text: mail.text ?? '' };
}

describe('MessageTemplate.render', () => {
  it('produces a message whose headers parse back', async () => {
    const { mail } = await parts(template().render(alice, aliceValues, DATE));
    expect(mail.to).toMatchObject({ value: [{ address: 'alice@example.test' }] });
    expect(mail.from).toMatchObject({ value: [{ address: 'digest@example.test', name: 'Abendblatt Köln' }] });
    expect(mail.subject).toBe('Die Abendausgabe – Grüße 📰');
    expect(mail.messageId).toBe('<2026-11-25.alice@example.test>');
    expect(mail.date?.toISOString()).toBe(DATE.toISOString());
    expect(mail.headers.get('x-edition')).toBe('2026-11-25');
    const rawHeader = (key: string) => mail.headerLines.find((line) => line.key === key)?.line;
    expect(rawHeader('list-unsubscribe')).toBe('List-Unsubscribe: <https://example.test/u/abc>');
    expect(rawHeader('list-id')).toBe('List-Id: Evening Digest <digest.example.test>');
    expect(rawHeader('mime-version')).toBe('MIME-Version: 1.0');
  });

  it('writes the RFC 5322 date it is given', () => {
    const raw = template().render(alice, aliceValues, DATE).toString('utf8');
    expect(raw).toContain('\r\nDate: Wed, 25 Nov 2026 18:30:00 +0000\r\n');
  });

  it('keeps the message 7-bit with CRLF line ends and short body lines', () => {
    const raw = template().render(alice, { ...aliceValues, greeting: `Grüße ${'😀'.repeat(60)}` }, DATE);
    expect([...raw].every((byte) => byte < 128)).toBe(true);
    const text = raw.toString('ascii');
    expect(text).not.toMatch(/[^\r]\n|\r[^\n]/);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('has a text/plain and a text/html alternative with the values filled in', async () => {
    const raw = template().render(alice, aliceValues, DATE);
    const { mail, html, text } = await parts(raw);
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(text).toBe(
      'Good evening, Alice\n\nSent to alice@example.test.\nUnsubscribe: https://example.test/u/abc?x=1&y=2',
    );
    expect(html).toBe(
      '<p>Good evening, Alice</p>\n<p>Sent to alice@example.test.</p>\n<a href="https://example.test/u/abc?x=1&amp;y=2">Unsubscribe</a>',
    );
    expect(raw.toString('ascii')).toMatch(
      /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/,
    );
    expect(raw.toString('ascii')).toMatch(
      /Content-Type: text\/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable/,
    );
  });

  it('without HTML is one quoted-printable text/plain part, 7-bit with short lines', async () => {
    const plain = new MessageTemplate({
      from: formatMailbox('digest@example.test', 'Abendblatt Köln'),
      subject: 'Die Abendausgabe',
      text: personalized(`{{greeting}}\n\nSent to {{email}}. ${'Grüße '.repeat(30)}\nUnsubscribe: {{unsubscribe_url}}`),
      headers: { 'List-Id': 'Evening Digest <digest.example.test>' },
    });
    const raw = plain.render(alice, { ...aliceValues, greeting: 'Good evening, <Alice> & Bob' }, DATE);
    const text = raw.toString('ascii');
    expect([...raw].every((byte) => byte < 128)).toBe(true);
    expect(text).not.toContain('multipart');
    for (const line of text.slice(text.indexOf('\r\n\r\n') + 4).split('\r\n'))
      expect(line.length).toBeLessThanOrEqual(76);
    const mail = await simpleParser(raw);
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'text/plain', params: { charset: 'utf-8' } });
    expect(mail.headers.get('content-transfer-encoding')).toBe('quoted-printable');
    expect(mail.html).toBe(false);
    expect(mail.text).toBe(
      `Good evening, <Alice> & Bob\n\nSent to alice@example.test. ${'Grüße '.repeat(30)}\nUnsubscribe: https://example.test/u/abc?x=1&y=2`,
    );
  });

  it('HTML-escapes values in the HTML part and keeps them raw in the text part', async () => {
    const { html, text } = await parts(template().render(alice, { ...aliceValues, greeting: `<b>&"'` }, DATE));
    expect(html).toContain('<p>&lt;b&gt;&amp;&quot;&#39;</p>');
    expect(html).not.toContain('<b>');
    expect(text.split('\n')[0]).toBe(`<b>&"'`);
  });

  it('carries non-ASCII and multi-line values through both parts', async () => {
    const greeting = 'Liebe Jörg „Abendleser“ 😀';
    const { html, text } = await parts(
      template().render(alice, { ...aliceValues, greeting, email: 'line one\nline two' }, DATE),
    );
    expect(text).toContain(greeting);
    expect(text).toContain('Sent to line one\nline two.');
    expect(html).toContain(`<p>${greeting}</p>`);
  });

  it('cannot be broken out of by a value that imitates the MIME boundary', async () => {
    const probe = template().render(alice, aliceValues, DATE).toString('ascii');
    const boundary = /boundary="([^"]+)"/.exec(probe)?.[1] ?? '';
    expect(boundary).not.toBe('');
    const attack = `\n--${boundary}\nContent-Type: text/html\n\n<script>evil()</script>\n--${boundary}--\n`;
    const { mail, html, text } = await parts(template().render(alice, { ...aliceValues, greeting: attack }, DATE));
    expect(mail.attachments).toHaveLength(0);
    expect(html).not.toContain('<script>');
    expect(text.startsWith(attack)).toBe(true);
  });

  it('throws when a value is missing', () => {
    const withoutUrl = Object.fromEntries(Object.entries(aliceValues).filter(([name]) => name !== 'unsubscribe_url'));
    expect(() => template().render(alice, withoutUrl, DATE)).toThrow(MissingPersonalValue);
  });

  it.each<[string, RecipientHeaders]>([
    ['To', { ...alice, to: 'alice@example.test\r\nBcc: victim@example.test' }],
    ['Message-ID', { ...alice, messageId: '<id@example.test>\nBcc: victim@example.test' }],
    [
      'an extra header',
      { ...alice, headers: { 'List-Unsubscribe': '<https://example.test/u>\r\nBcc: victim@example.test' } },
    ],
    ['an extra header ending in CR', { ...alice, headers: { 'X-Edition': '2026-11-25\r' } }],
  ])('refuses a line break in %s', (_label, recipient) => {
    expect(() => template().render(recipient, aliceValues, DATE)).toThrow(/line break/);
  });

  it('refuses a line break in the subject or a shared header when the template is built', () => {
    expect(() => template({ subject: 'Hello\r\nBcc: victim@example.test' })).toThrow(/line break/);
    expect(
      () =>
        new MessageTemplate({
          from: 'digest@example.test',
          subject: 's',
          html: personalized(''),
          text: personalized(''),
          headers: { 'List-Id': 'x\nBcc: y' },
        }),
    ).toThrow(/line break/);
  });

  it('differs between two renders only in the personalized values', () => {
    const t = template();
    const one = { greeting: 'Evening, ONE', email: 'one@example.test', unsubscribe_url: 'https://example.test/u/ONE' };
    const two = { greeting: 'Evening, TWO', email: 'two@example.test', unsubscribe_url: 'https://example.test/u/TWO' };
    const first = t.render(alice, one, DATE).toString('ascii');
    const second = t.render(alice, two, DATE).toString('ascii');
    expect(second).not.toBe(first);
    expect(first.replaceAll('ONE', 'TWO').replaceAll('one@', 'two@')).toBe(second);
  });

  it('differs between two recipients only in their headers and values', () => {
    const t = template();
    const bob: RecipientHeaders = {
      to: 'bob@example.test',
      messageId: '<2026-11-25.bob@example.test>',
      headers: alice.headers,
    };
    const first = t.render(alice, aliceValues, DATE).toString('ascii');
    const second = t
      .render(bob, { ...aliceValues, greeting: 'Good evening, Bob!!', email: 'bob@example.test' }, DATE)
      .toString('ascii');
    expect(first.replaceAll('alice@', 'bob@').replaceAll('Alice', 'Bob!!')).toBe(second);
  });

  it('leaves text that looks like a placeholder alone: only the positions it was given are filled', async () => {
    const t = template({
      text: '100%% sure, %%Not_A_Placeholder%%, %%email%%, {{email}}',
      html: '<p>50%% off %%unsubscribe_url%%</p>',
    });
    const { html, text } = await parts(t.render(alice, { email: 'x@example.test' }, DATE));
    expect(text).toBe('100%% sure, %%Not_A_Placeholder%%, %%email%%, x@example.test');
    expect(html).toBe('<p>50%% off %%unsubscribe_url%%</p>');
  });
});

describe('MessageTemplate.fields', () => {
  it('lists each personal field of both parts once', () => {
    const t = template({
      text: '{{greeting}} {{greeting}} {{email}}',
      html: '<a href="{{unsubscribe_url}}">{{email}}</a>',
    });
    expect([...t.fields].sort()).toEqual(['email', 'greeting', 'unsubscribe_url']);
  });

  it('is empty for a template without personal fields', () => {
    expect(template({ text: 'Hello %%email%%', html: '<p>Hello</p>' }).fields).toEqual([]);
  });

  it('names exactly the values render needs', () => {
    const t = template({ text: '{{greeting}}', html: '<p>{{preferences_url}}</p>' });
    const values = Object.fromEntries(t.fields.map((name) => [name, name.toUpperCase()]));
    expect(() => t.render(alice, values, DATE)).not.toThrow();
    expect(Object.keys(values).sort()).toEqual(['greeting', 'preferences_url']);
  });
});
