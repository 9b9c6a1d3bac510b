import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { type Harness, startHarness, waitFor } from '../support/harness.ts';
import { postgresBinaries } from '../support/postgres-server.ts';

const FIRST = '2020-02-25';
const NEXT = '2020-02-26';

/**
 * The backup and restore of docs/operations.md, as an operator runs them: `pg_dump` of the database, `pg_restore`
 * into an empty one, and the service started on it with an empty Redis (a new machine). Everybody
 * comes back in the state they were in, with their consent and history; nobody who left is mailed;
 * an edition that was already sent is not sent again by itself.
 */
describe('backup and restore', () => {
  let original: Harness;
  let restored: Harness;
  let dir: string;
  const readers = { ann: 'ann@example.test', ben: 'ben@example.test', cy: 'cy@example.test', dee: 'dee@example.test' };

  const editionsTo = (h: Harness, address: string) =>
    h.sink.to(address).filter((message) => message.raw.includes('X-Edition:'));
  const snapshot = async (h: Harness) => ({
    subscribers: (await h.app.db.query('SELECT * FROM subscribers ORDER BY id')).rows,
    events: (
      await h.app.db.query(
        'SELECT subscriber_id, at, from_state, to_state, reason, by FROM subscriber_events ORDER BY id',
      )
    ).rows,
    counts: await h.app.subscribers.countsByState(),
    editions: (await h.app.db.query('SELECT id, status, subject FROM editions ORDER BY id')).rows,
    resends: (await h.app.db.query('SELECT * FROM resends ORDER BY edition_id, number')).rows,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'digest-backup-'));
    original = await startHarness();
    const ids: Record<string, string> = {};
    for (const [name, email] of Object.entries(readers)) {
      ids[name] = (
        await original.app.subscribers.create(email, {
          email,
          name,
          consentIp: '198.51.100.1',
          consentAt: '2020-02-01T10:00:00.000Z',
        })
      ).id;
    }
    for (const name of ['ann', 'ben', 'cy'])
      await original.app.subscribers.transition({
        id: ids[name]!,
        from: ['pending'],
        to: 'confirmed',
        reason: 'confirmed by link',
      });
    await original.app.intake.ingest(
      { url: 'https://news.example.org/first', title: 'First day', publishedAt: `${FIRST}T12:00:00Z` },
      'admin',
    );
    await original.app.desk.runDue(new Date(`${FIRST}T18:30:05Z`));
    await waitFor(async () => (await original.app.deliveries.progress(FIRST))?.finished, 'the first edition');
    expect(await original.app.deliveries.resend(FIRST, { email: readers.ann }, 'operator')).toMatchObject({ ok: true });
    // After the edition: Ben leaves, Cy's address bounces.
    expect(
      (
        await original.app.subscriptions.unsubscribe(
          new URL(original.app.subscriptions.readerUrls(ids.ben!).unsubscribeUrl).searchParams.get('token')!,
          'one-click',
        )
      ).ok,
    ).toBe(true);
    await original.app.subscriptions.suppress(ids.cy!, 'bounced', 'SMTP 550 5.1.1');
    await waitFor(async () => (await original.app.deliveries.progress(FIRST))?.finished, 'the resend');

    // The backup, and the restore into an empty database on "another machine".
    const bin = postgresBinaries();
    const dump = join(dir, 'digest.dump');
    execFileSync(join(bin, 'pg_dump'), ['--format=custom', `--file=${dump}`, original.app.config.DATABASE_URL ?? '']);
    const target = await createTestDatabase({ migrated: false });
    execFileSync(join(bin, 'pg_restore'), ['--no-owner', '--exit-on-error', `--dbname=${target}`, dump]);
    restored = await startHarness({ env: { DATABASE_URL: target } });
  });
  afterAll(async () => {
    await original?.close();
    await restored?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings back every subscriber, their consent, history and counts, and the editions and resends', async () => {
    const before = await snapshot(original);
    expect(await snapshot(restored)).toEqual(before);
    expect(before.counts).toEqual({ pending: 1, confirmed: 1, unsubscribed: 1, bounced: 1, complained: 0 });
    // The counters still follow changes after the restore (their triggers came back too).
    const { id } = await restored.app.subscribers.create('eve@example.test', { email: 'eve@example.test' });
    expect((await restored.app.subscribers.countsByState()).pending).toBe(2);
    await restored.app.subscribers.erase(id);
  });

  it('does not send the edition that was already sent again, though the new Redis knows nothing of it', async () => {
    expect((await restored.app.editions.get(FIRST))?.status).toBe('sent');
    await restored.app.desk.runDue(new Date(`${FIRST}T18:31:05Z`));
    expect(restored.sink.messages.filter((message) => message.raw.includes('X-Edition:'))).toHaveLength(0);
  });

  it('does not send again an edition the backup caught while it was being sent, and tells the desk once', async () => {
    // As a backup taken in the minutes an edition was being sent would have it.
    await restored.app.db.query("UPDATE editions SET status = 'sending', sent_at = NULL WHERE id = $1", [FIRST]);
    await restored.app.desk.runDue(new Date(`${FIRST}T18:31:05Z`));
    expect(restored.sink.messages.filter((message) => message.raw.includes('X-Edition:'))).toHaveLength(0);
    await restored.app.desk.runDue(new Date(`${FIRST}T18:32:05Z`));
    const alerts = await restored.app.alerts.ofEdition(FIRST);
    expect(alerts.filter((alert) => alert.kind === 'records-missing')).toEqual([
      expect.objectContaining({ text: expect.stringContaining('Redis holds no record of its delivery') }),
    ]);
    expect(restored.sink.messages.filter((message) => message.raw.includes('X-Edition:'))).toHaveLength(0);
  });

  it('sends the next edition to the readers who are still subscribed, and to nobody who left', async () => {
    await restored.app.intake.ingest(
      { url: 'https://news.example.org/next', title: 'Next day', publishedAt: `${NEXT}T12:00:00Z` },
      'admin',
    );
    await restored.app.desk.runDue(new Date(`${NEXT}T18:30:05Z`));
    await waitFor(async () => (await restored.app.deliveries.progress(NEXT))?.finished, 'the next edition');
    expect(editionsTo(restored, readers.ann)).toHaveLength(1);
    for (const gone of [readers.ben, readers.cy, readers.dee]) expect(editionsTo(restored, gone), gone).toHaveLength(0);
    expect((await restored.app.deliveries.progress(NEXT))?.counts).toMatchObject({ sent: 1, failed: 0 });
  });
});
