import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { type ImportedState, parseImportedState } from './subscribers/import-rows.ts';
import { describeImport } from './subscribers/imports.ts';
import { hashPassword } from './admin/sessions.ts';
import { loadDemo } from './demo.ts';
import { startDeliveryWorkers } from './delivery/workers.ts';
import type { ResendScope } from './delivery/deliveries.ts';
import { boot } from './process.ts';
import { loadConfigOrExit, prepareDatabase } from './platform/startup.ts';
import { createLogger } from './platform/logger.ts';
import type { App } from './app.ts';

const USAGE = `Usage: digest <command> [options]

Commands:
  demo                         load sample articles and readers, send today's edition to the dev mailbox
  send-now                     assemble today's edition now and send it (idempotent)
  resend --edition ID (--failed | --email ADDRESS | --all)
                               send an edition again to failed recipients, one subscriber, or everyone
  status --edition ID          delivery counts of an edition
  poll-feeds                   poll every feed in FEEDS once
  import FILE.csv [--status confirmed|unsubscribed|cleaned]
                               import a subscriber list (email,name, or a Mailchimp or listmonk export);
                               --status: what rows without a status column are (default confirmed)
  admin-user NAME              read a password on stdin and store a console login for NAME
  admin-password NAME          read a password on stdin, print an ADMIN_USERS entry for the console login
  migrate                      bring the PostgreSQL schema up to date (every process also does at start)

Options:
  --wait                       (send-now, resend) deliver in this process and wait until done
  -h, --help                   show this help`;

async function waitUntilDelivered(app: App, edition: string, timeoutMs = 120_000): Promise<void> {
  const workers = startDeliveryWorkers(app);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const progress = await app.deliveries.progress(edition);
      if (!progress || progress.finished || Date.now() > deadline) break;
      await new Promise((done) => setTimeout(done, 250));
    }
  } finally {
    await workers.close();
  }
}

function checkAdminName(name: string | undefined): string | null {
  if (name && /^[\w.-]{1,40}$/.test(name)) return name;
  console.error('Give a NAME of letters, digits, ".", "-" or "_".');
  return null;
}

/** A password from stdin (so it stays out of the shell history), at least 12 characters. */
async function readPassword(name: string): Promise<string | null> {
  if (process.stdin.isTTY) process.stderr.write(`Password for ${name}: `);
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  const password = input.replace(/\r?\n$/, '');
  if (password.length >= 12) return password;
  console.error('Use at least 12 characters.');
  return null;
}

/** Needs no Redis: hashes the password given on stdin. */
async function printAdminPassword(name: string | undefined): Promise<number> {
  const checked = checkAdminName(name);
  const password = checked ? await readPassword(checked) : null;
  if (!checked || !password) return 64;
  console.log(hashPassword(checked, password));
  return 0;
}

/** Reads the file into an import and merges it here, printing progress (no worker needed). */
async function importList(app: App, file: string, state: ImportedState): Promise<number> {
  const id = await app.imports.receive(createReadStream(file), { fileName: basename(file), by: `cli:${process.env.USER ?? 'unknown'}`, state });
  let last = 0;
  const summary = await app.imports.merge(id, (progress) => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    console.log(describeImport(progress));
  });
  if (!summary) return 1;
  console.log(`Import #${id}: ${describeImport(summary)}`);
  for (const [reason, count] of Object.entries(summary.skipped)) console.log(`  skipped, ${reason}: ${count}`);
  for (const row of await app.imports.rejected(id, 20)) console.log(`  line ${row.line}: ${row.reason}: ${row.text}`);
  if (summary.rejected > 20) console.log(`  … ${summary.rejected - 20} more rejected rows: see /console/subscribers/imports/${id}`);
  return summary.status === 'done' ? 0 : 1;
}

/** Needs no Redis: PostgreSQL (DATABASE_URL, else the embedded server, started if need be), migrated. */
async function runMigrations(): Promise<number> {
  const config = loadConfigOrExit();
  const { ran } = await prepareDatabase(config, createLogger('cli', config.LOG_LEVEL));
  console.log(ran.length > 0 ? `Ran ${ran.length} migration(s): ${ran.join(', ')}.` : 'The database schema is up to date.');
  return 0;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      edition: { type: 'string' },
      email: { type: 'string' },
      failed: { type: 'boolean' },
      all: { type: 'boolean' },
      wait: { type: 'boolean' },
      status: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 64;
  }
  if (command === 'admin-password') return printAdminPassword(positionals[1]);
  if (command === 'migrate') return runMigrations();
  if (!['demo', 'send-now', 'resend', 'status', 'poll-feeds', 'import', 'admin-user'].includes(command)) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 64;
  }
  if (command === 'resend' && [values.failed, values.all, values.email].filter(Boolean).length !== 1) {
    console.error('resend needs --edition ID and exactly one of --failed, --email ADDRESS, --all');
    return 64;
  }
  if ((command === 'resend' || command === 'status') && !values.edition) {
    console.error(`${command} needs --edition ID`);
    return 64;
  }
  const importState = parseImportedState(values.status ?? 'confirmed');
  if (command === 'import' && (!positionals[1] || !importState || !existsSync(positionals[1]))) {
    console.error(positionals[1] && !existsSync(positionals[1]) ? `No file ${positionals[1]}.` : 'import needs FILE.csv, and --status confirmed, unsubscribed or cleaned');
    return 64;
  }
  const adminName = command === 'admin-user' ? checkAdminName(positionals[1]) : null;
  if (command === 'admin-user' && !adminName) return 64;

  const { app } = await boot('cli');
  try {
    switch (command) {
      case 'demo': {
        if (!app.config.useDevMailbox) {
          console.error('digest demo mails example.com readers; it only runs with the dev mailbox (unset SMTP_URL).');
          return 64;
        }
        const loaded = await loadDemo(app);
        const { edition, created } = await app.desk.sendNow('digest demo');
        await waitUntilDelivered(app, edition.id);
        const progress = await app.deliveries.progress(edition.id);
        console.log(`Loaded ${loaded.articles} sample articles and ${loaded.readers} readers.`);
        console.log(created ? `Sent edition ${edition.id}.` : `Edition ${edition.id} already existed; nothing new was sent (digest resend --edition ${edition.id} --all sends it again).`);
        console.log(`Delivery: ${JSON.stringify(progress?.counts)}`);
        console.log(`Open ${app.config.PUBLIC_URL}/dev/mailbox (with npm start running) to read it.`);
        return 0;
      }
      case 'send-now': {
        const { edition, created, fanOutElsewhere } = await app.desk.sendNow('cli');
        console.log(`${created ? 'Assembled' : 'Already had'} edition ${edition.id} (${edition.status}, ${edition.articleKeys.length} articles).`);
        if (fanOutElsewhere) console.log('Another process is queueing its deliveries right now; it carries on there.');
        if (values.wait && edition.status !== 'empty') await waitUntilDelivered(app, edition.id);
        console.log(JSON.stringify(await app.deliveries.progress(edition.id), null, 2));
        return 0;
      }
      case 'resend': {
        const scope: ResendScope = values.failed ? { failed: true } : values.all ? { all: true } : { email: values.email ?? '' };
        const result = await app.deliveries.resend(values.edition ?? '', scope, `cli:${process.env.USER ?? 'unknown'}`);
        if (!result.ok) {
          console.error(result.error);
          return 1;
        }
        console.log(`Resend ${result.resend.run} queued for ${result.resend.recipients} recipient(s).`);
        if (values.wait) await waitUntilDelivered(app, values.edition ?? '');
        return 0;
      }
      case 'status': {
        const progress = await app.deliveries.progress(values.edition ?? '');
        if (!progress) {
          console.error(`No edition ${values.edition}.`);
          return 1;
        }
        console.log(JSON.stringify(progress, null, 2));
        return 0;
      }
      case 'import':
        return await importList(app, positionals[1] ?? '', importState ?? 'confirmed');
      case 'admin-user': {
        const password = await readPassword(adminName ?? '');
        if (!password) return 64;
        await app.adminUsers.set(adminName ?? '', password);
        console.log(`${adminName} can log in to the console now.`);
        return 0;
      }
      default: {
        for (const status of await app.feeds.pollAll(app.config.FEEDS)) console.log(JSON.stringify(status));
        return 0;
      }
    }
  } finally {
    await app.close();
  }
}

process.exitCode = await main();
