import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmByLink, type Harness, linkIn, startHarness, transactionalIdle } from '../support/harness.ts';

const SUPERSEDED = 'A newer confirmation email replaced this one. Please use the link in the latest email.';

/** Signs `email` up `times` times, each once the previous confirmation arrived; the confirmation links received, oldest first. */
async function signUpAgain(h: Harness, email: string, times: number): Promise<string[]> {
  const links: string[] = [];
  for (let attempt = 0; attempt < times; attempt += 1) {
    expect((await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email } })).statusCode).toBe(202);
    await transactionalIdle(h);
    const received = h.sink.to(email);
    if (received.length <= links.length) continue; // past SUBSCRIBE_LIMIT_PER_ADDRESS: no new email
    const mail = await h.sink.parsed(received[received.length - 1]!);
    links.push(
      linkIn(mail.text ?? '', 'https://digest.example.test/confirm?token=').replace('https://digest.example.test', ''),
    );
  }
  return links;
}

/** Several pending sign-ups for one address: only the newest confirmation link works. */
describe('confirmation links of an address signed up several times', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it('voids the older links: the first and second answer 400 "superseded", the newest confirms', async () => {
    const links = await signUpAgain(h, 'thrice@example.test', 3);
    expect(links).toHaveLength(3);
    expect(new Set(links).size).toBe(3);
    for (const older of links.slice(0, 2)) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await h.server.inject({ method, url: older });
        expect(response.statusCode, `${method} ${older}`).toBe(400);
        expect(response.body).toContain(SUPERSEDED);
      }
    }
    const id = (await h.app.subscribers.findIdByEmail('thrice@example.test'))!;
    expect((await h.app.subscribers.get(id))?.state).toBe('pending');
    expect((await confirmByLink(h, links[2]!)).body).toContain('You are subscribed');
    expect((await h.app.subscribers.get(id))?.state).toBe('confirmed');
  });

  it('keeps the newest link sent working when a sign-up past SUBSCRIBE_LIMIT_PER_ADDRESS sends no email', async () => {
    const links = await signUpAgain(h, 'often@example.test', 4);
    expect(h.sink.to('often@example.test')).toHaveLength(3);
    expect(links).toHaveLength(3);
    expect((await h.server.inject({ method: 'POST', url: links[1]! })).statusCode).toBe(400);
    expect((await confirmByLink(h, links[2]!)).body).toContain('You are subscribed');
  });
});
