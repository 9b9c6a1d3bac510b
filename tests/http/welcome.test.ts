import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmByLink, type Harness, linkIn, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';

/** Sign up, confirm, then one welcome email that says what comes and how to leave. */
async function signUpAndConfirm(h: Harness, email: string, name: string) {
  expect((await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email, name } })).statusCode).toBe(202);
  const confirmation = await h.sink.parsed(await waitFor(async () => h.sink.to(email)[0], 'the confirmation email'));
  const confirmPath = linkIn(confirmation.text ?? '', 'https://digest.example.test/confirm?token=').replace(
    'https://digest.example.test',
    '',
  );
  expect((await confirmByLink(h, confirmPath)).body).toContain('You are subscribed');
  return confirmPath;
}

describe('the welcome email', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('arrives once after the confirmation, with the send time, the preferences and a working one-click unsubscribe', async () => {
    const confirmPath = await signUpAndConfirm(h, 'nia@example.test', 'Nia');
    const raw = await waitFor(async () => h.sink.to('nia@example.test')[1], 'the welcome email');
    const welcome = await h.sink.parsed(raw);
    expect(welcome.subject).toBe('Welcome to Evening Digest');
    // The plain text is wrapped at 78 characters: read it as one line.
    const text = (welcome.text ?? '').replace(/\s+/g, ' ');
    expect(text).toContain(
      'Hello, Nia, you are subscribed. Every evening at 18:30 UTC, nia@example.test will get one email',
    );
    expect(text).toContain('add digest@example.test to your contacts');
    expect(String(welcome.html)).toContain('href="https://digest.example.test/preferences?token=');
    expect(raw.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
    const unsubscribe = /^List-Unsubscribe: <https:\/\/digest\.example\.test(\/unsubscribe\?token=[\w.-]+)>\r$/m.exec(
      raw.raw,
    )?.[1];

    // Following the confirmation link again is fine, and welcomes nobody twice.
    expect((await confirmByLink(h, confirmPath)).body).toContain('You are subscribed');
    await transactionalIdle(h);
    expect(h.sink.to('nia@example.test')).toHaveLength(2);

    const oneClick = await h.server.inject({
      method: 'POST',
      url: unsubscribe!,
      payload: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(oneClick.statusCode).toBe(200);
    expect((await h.app.subscribers.get((await h.app.subscribers.findIdByEmail('nia@example.test'))!))?.state).toBe(
      'unsubscribed',
    );
  });

  it('greets a reader whose name joins letters with ZWNJ or ZWJ exactly as typed', async () => {
    // ZWNJ inside a Persian name, ZWJ inside an emoji sequence: kept by the name rules.
    const name = 'مهر\u200Cسا \u{1F469}\u200D\u{1F4BB}';
    await signUpAndConfirm(h, 'mehrsa@example.test', name);
    const welcome = await h.sink.parsed(
      await waitFor(async () => h.sink.to('mehrsa@example.test')[1], 'the welcome email'),
    );
    expect((welcome.text ?? '').replace(/\s+/g, ' ')).toContain(`Hello, ${name}, you are subscribed.`);
    expect((await h.app.subscribers.get((await h.app.subscribers.findIdByEmail('mehrsa@example.test'))!))?.name).toBe(
      name,
    );
  });
});

describe('with WELCOME_EMAIL=false', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { WELCOME_EMAIL: 'false' } });
  });
  afterAll(async () => h?.close());

  it('sends only the confirmation', async () => {
    await signUpAndConfirm(h, 'quiet@example.test', 'Q');
    await transactionalIdle(h);
    expect(h.sink.to('quiet@example.test')).toHaveLength(1);
    expect((await h.app.subscribers.get((await h.app.subscribers.findIdByEmail('quiet@example.test'))!))?.state).toBe(
      'confirmed',
    );
  });
});
