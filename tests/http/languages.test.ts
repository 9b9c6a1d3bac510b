import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmByLink, type Harness, linkIn, startHarness, transactionalIdle, waitFor } from '../support/harness.ts';

const EDITION = '2020-02-25';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const langOf = (body: string) => /<html lang="([^"]+)" dir="([^"]+)"/.exec(body)?.slice(1, 3) ?? ['?', '?'];

/**
 * DIGEST_LOCALE: readers get every word in their language: the confirmation and welcome emails
 * (subjects included), the edition with its dates, and every reader page with its errors, each page
 * saying its language and direction. The console stays English.
 */
describe('DIGEST_LOCALE=de', () => {
  let h: Harness;
  let token: string;

  beforeAll(async () => {
    h = await startHarness({ env: { DIGEST_LOCALE: 'de' } });
  });
  afterAll(async () => h?.close());

  it('signs up in German: the page, its errors, the confirmation and the welcome email', async () => {
    const home = await h.server.inject({ method: 'GET', url: '/' });
    expect(langOf(home.body)).toEqual(['de', 'ltr']);
    expect(home.body).toContain('Jeden Abend um 18:30 UTC: die wichtigsten Nachrichten des Tages');
    expect(home.body).toContain('<button type="submit">Abonnieren</button>');
    const bad = await h.server.inject({
      method: 'POST',
      url: '/subscribe',
      payload: 'email=a%40b%40example.test',
      headers: form,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain(
      'Bitte prüfen Sie Ihre Angabe (E-Mail-Adresse): Die E-Mail-Adresse muss genau ein @ enthalten.',
    );
    const badName = await h.server.inject({
      method: 'POST',
      url: '/subscribe',
      payload: 'email=ok%40example.test&name=A%0D%0AB',
      headers: form,
    });
    expect(badName.body).toContain('Bitte prüfen Sie Ihre Angabe (Name): Der Name enthält Steuerzeichen.');
    // The API keeps its machine-readable English error.
    expect(
      (await h.server.inject({ method: 'POST', url: '/subscribe', payload: { email: 'x' } })).json().error,
    ).toMatch(/^email: /);

    const accepted = await h.server.inject({
      method: 'POST',
      url: '/subscribe',
      payload: 'email=lena%40example.test&name=Lena',
      headers: form,
    });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.body).toContain('Bitte sehen Sie in Ihr Postfach');
    const confirmation = await h.sink.parsed(
      await waitFor(async () => h.sink.to('lena@example.test')[0], 'the confirmation email'),
    );
    expect(confirmation.subject).toBe('Bitte bestätigen Sie Ihr Abonnement von Evening Digest');
    expect(confirmation.html).toContain('lang="de"');
    const text = (confirmation.text ?? '').replace(/\s+/g, ' ');
    expect(text).toContain(
      'Hallo, Lena, bitte bestätigen Sie, dass Sie Evening Digest an lena@example.test erhalten möchten',
    );
    expect(text).toContain('Der Link ist 168 Stunden lang gültig.');
    const confirmPath = linkIn(confirmation.text ?? '', 'https://digest.example.test/confirm?token=').replace(
      'https://digest.example.test',
      '',
    );
    const page = await h.server.inject({ method: 'GET', url: confirmPath });
    expect(page.body).toContain('<button type="submit">Abonnement bestätigen</button>');
    const confirmed = await confirmByLink(h, confirmPath);
    expect(confirmed.body).toContain('lena@example.test erhält Evening Digest ab jetzt jeden Abend.');
    const welcome = await h.sink.parsed(
      await waitFor(async () => h.sink.to('lena@example.test')[1], 'the welcome email'),
    );
    expect(welcome.subject).toBe('Willkommen bei Evening Digest');
    expect((welcome.text ?? '').replace(/\s+/g, ' ')).toContain(
      'Hallo, Lena, Ihr Abonnement ist aktiv. Jeden Abend um 18:30 UTC erhält lena@example.test eine E-Mail',
    );
    await transactionalIdle(h);
  });

  it('sends the edition in German, with German dates, and its browser version says so', async () => {
    await h.app.intake.ingest(
      {
        url: 'https://news.example.org/haushalt',
        title: 'Haushalt beschlossen',
        summary: 'Nach 19 Stunden.',
        section: 'Politik',
        publishedAt: `${EDITION}T12:00:00Z`,
      },
      'admin',
    );
    await h.app.desk.runDue(new Date(`${EDITION}T18:30:05Z`));
    await waitFor(async () => (await h.app.deliveries.progress(EDITION))?.finished, 'the edition delivered');
    const mail = await h.sink.parsed(
      h.sink.to('lena@example.test').find((message) => message.raw.includes('X-Edition:'))!,
    );
    const html = String(mail.html);
    expect(html).toContain('<html lang="de" dir="ltr"');
    expect(html).toContain('Dienstag, 25. Februar 2020');
    expect(html).toContain(
      'Guten Abend, Lena, hier ist die Auswahl für heute Abend: eine Geschichte, ausgewählt von unserer Redaktion.',
    );
    expect(html).toContain('>Weiterlesen</a>');
    expect(html).toContain('>Mit einem Klick abbestellen</a>');
    expect(mail.text).toContain('Im Browser ansehen: https://digest.example.test/editions/2020-02-25');
    const web = await h.server.inject({ method: 'GET', url: `/editions/${EDITION}` });
    expect(web.body).toContain('Guten Abend, hier ist die Auswahl');
    expect(langOf(web.body)).toEqual(['de', 'ltr']);
    // Its Unsubscribe and Preferences lead to the page for everyone, in German.
    expect(web.body).toContain('<a href="/manage-subscription">Einstellungen</a>');
    const manage = await h.server.inject({ method: 'GET', url: '/manage-subscription' });
    expect(langOf(manage.body)).toEqual(['de', 'ltr']);
    expect(manage.body).toContain('<h1>Ihre persönlichen Links stehen in Ihrer E-Mail</h1>');
    expect(manage.body).toContain('<a href="/">Noch nicht abonniert? Evening Digest abonnieren</a>');
    const archive = await h.server.inject({ method: 'GET', url: '/editions' });
    expect(langOf(archive.body)).toEqual(['de', 'ltr']);
    expect(archive.body).toContain('<h1>Frühere Ausgaben</h1>');
    expect(archive.body).toContain('>25. Februar 2020</a>');
    const missing = await h.server.inject({ method: 'GET', url: '/editions/1999-01-01' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('Diese Ausgabe gibt es nicht');
  });

  it('shows preferences and unsubscribing in German, with their errors', async () => {
    const id = (await h.app.subscribers.findIdByEmail('lena@example.test'))!;
    token = new URL(h.app.subscriptions.readerUrls(id).preferencesUrl).searchParams.get('token') ?? '';
    const prefs = await h.server.inject({ method: 'GET', url: `/preferences?token=${token}` });
    expect(langOf(prefs.body)).toEqual(['de', 'ltr']);
    expect(prefs.body).toContain('Sie erhalten ihn jeden Abend.');
    const bad = await h.server.inject({
      method: 'POST',
      url: `/preferences?token=${token}`,
      payload: 'format=pdf',
      headers: form,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('Nicht gespeichert: Das E-Mail-Format muss html oder text sein.');
    expect(
      (
        await h.server.inject({
          method: 'POST',
          url: `/preferences?token=${token}`,
          payload: 'name=Lena',
          headers: form,
        })
      ).body,
    ).toContain('Gespeichert.');
    const forged = await h.server.inject({ method: 'GET', url: '/unsubscribe?token=forged' });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('Dieser Link funktioniert nicht');
    const unsubscribe = await h.server.inject({ method: 'POST', url: `/unsubscribe?token=${token}` });
    expect(unsubscribe.body).toContain('Sie haben abbestellt');
    expect(langOf(unsubscribe.body)).toEqual(['de', 'ltr']);
  });
});

describe('DIGEST_LOCALE=ar', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { DIGEST_LOCALE: 'ar' }, workers: false });
  });
  afterAll(async () => h?.close());

  it('says lang="ar" dir="rtl" on every reader page, in Arabic', async () => {
    const { id } = await h.app.subscribers.create('salma@example.test', { email: 'salma@example.test', name: 'سلمى' });
    await h.app.subscribers.transition({ id, from: ['pending'], to: 'confirmed', reason: 'test' });
    const token = new URL(h.app.subscriptions.readerUrls(id).preferencesUrl).searchParams.get('token') ?? '';
    const pages: Array<[string, string, string]> = [
      ['GET', '/', 'اقرأ النشرات السابقة'],
      ['POST', '/subscribe', 'يرجى التحقق من البريد الإلكتروني: البريد الإلكتروني مطلوب.'],
      ['GET', '/confirm?token=forged', 'هذا الرابط لا يعمل'],
      ['GET', `/unsubscribe?token=${token}`, 'هل تريد التوقف عن تلقي Evening Digest؟'],
      [
        'GET',
        `/preferences?token=${token}`,
        'Evening Digest على <strong dir="ltr">salma@example.test</strong>: تصلك كل مساء.',
      ],
      ['GET', '/editions', 'لم تُرسَل أي نشرة بعد.'],
      ['GET', '/editions/1999-01-01', 'لا توجد نشرة كهذه'],
      ['GET', '/manage-subscription', 'روابطك الخاصة موجودة في بريدك'],
    ];
    for (const [method, url, words] of pages) {
      const response = await h.server.inject({
        method: method as 'GET',
        url,
        ...(method === 'POST' ? { payload: 'email=', headers: form } : {}),
      });
      expect(langOf(response.body), url).toEqual(['ar', 'rtl']);
      expect(response.body, url).toContain(words);
    }
  });

  it('keeps the console in English', async () => {
    const login = await h.server.inject({ method: 'GET', url: '/console/login' });
    expect(login.body).toContain('lang="en"');
    expect(login.body).not.toContain('dir="rtl"');
  });
});
