import { createReadStream, existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { App } from './app.ts';
import { describeStatus, type EditionReport, reportEdition, reportJson } from './admin/edition-report.ts';
import { isAdminName } from './admin/admin-users.ts';
import { editorActions } from './admin/editor-actions.ts';
import { hashPassword } from './admin/sessions.ts';
import type { ResendScope } from './delivery/deliveries.ts';
import { startDeliveryWorkers } from './delivery/workers.ts';
import { loadDemo } from './demo.ts';
import { commandLogs, createLogger } from './platform/logger.ts';
import { loadConfigOrExit, prepareDatabase, StartupError } from './platform/startup.ts';
import { boot } from './process.ts';
import { type ImportedState, parseImportedState } from './subscribers/import-rows.ts';
import { describeImport, shownRejectedRow } from './subscribers/imports.ts';

const USAGE = `Usage: digest <command> [options]

Commands:
  demo                         load sample articles and readers, send today's edition to the dev mailbox
  status [--edition ID]        an edition's day and delivery (default: the current edition)
  send-now [--wait]            send today's edition now (cut early before its cut-off; idempotent)
  send --edition ID            send a held or approved edition now (late, if past its freshness)
  approve --edition ID         approve an edition (DIGEST_APPROVAL=required)
  skip --edition ID --reason TEXT
                               do not send an edition; its articles go to the next one
  reopen --edition ID          take a skip back while the edition is fresh
  resend --edition ID (--failed | --email ADDRESS | --all) [--wait]
                               send an edition again to failed recipients, one subscriber, or everyone
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

type Options = ReturnType<typeof parseOptions>['values'];

function parseOptions() {
  return parseArgs({
    allowPositionals: true,
    options: {
      edition: { type: 'string' },
      email: { type: 'string' },
      failed: { type: 'boolean' },
      all: { type: 'boolean' },
      wait: { type: 'boolean' },
      status: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/**
 * Who acts, in events and resend records: the OS user running the command ($USER is often unset:
 * cron, containers, `sudo -i` shells); $USER, then the uid, only for a uid without a user name.
 */
function operator(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER || `uid ${process.getuid?.() ?? 'unknown'}`}`;
  }
}

/** A command that runs on the app: it says what is wrong with its arguments (exit 64) before the app starts. */
interface AppCommand {
  check(options: Options, args: string[]): string | null;
  run(app: App, options: Options, args: string[]): Promise<number>;
}

const needsEdition = (options: Options) => (options.edition ? null : 'needs --edition ID');

const EDITOR_ACTIONS = ['send', 'approve', 'skip', 'reopen'] as const;

const COMMANDS: Record<string, AppCommand> = {
  demo: {
    check: () => null,
    async run(app) {
      if (!app.config.useDevMailbox) {
        console.error('digest demo mails example.com readers; it only runs with the dev mailbox (unset SMTP_URL).');
        return 64;
      }
      const loaded = await loadDemo(app);
      const result = await app.desk.sendNow('digest demo');
      if (!result.ok) {
        console.error(`Edition ${loaded.edition} was not sent: ${result.error}`);
        return 1;
      }
      await waitUntilDelivered(app, result.edition.id);
      const progress = await app.deliveries.progress(result.edition.id);
      console.log(`Loaded ${loaded.articles} sample articles and ${loaded.readers} readers.`);
      console.log(
        result.created
          ? `Sent edition ${result.edition.id}.`
          : `Edition ${result.edition.id} was already sent; nothing new was sent (digest resend --edition ${result.edition.id} --all sends it again).`,
      );
      console.log(`Delivery: ${JSON.stringify(progress?.counts)}`);
      console.log(`Open ${app.config.PUBLIC_URL}/dev/mailbox (with npm start running) to read it.`);
      return 0;
    },
  },
  status: {
    check: () => null,
    async run(app, options) {
      const view = options.edition ? await app.desk.view(options.edition) : await app.desk.current();
      if (options.edition && !view.edition) {
        console.error(`No edition ${options.edition}.`);
        return 1;
      }
      printReport(await reportEdition(app, view));
      return 0;
    },
  },
  'send-now': {
    check: () => null,
    async run(app, options) {
      const result = await app.desk.sendNow(operator());
      if (!result.ok) {
        console.error(result.error);
        return 1;
      }
      console.error(
        `${result.created ? 'Assembled' : 'Already had'} edition ${result.edition.id} (${result.edition.status}, ${result.edition.articleKeys.length} articles).`,
      );
      if (result.fanOutElsewhere)
        console.error('Another process is queueing its deliveries right now; it carries on there.');
      if (options.wait) await waitUntilDelivered(app, result.edition.id);
      printReport(await reportEdition(app, await app.desk.view(result.edition.id)));
      return 0;
    },
  },
  ...Object.fromEntries(
    EDITOR_ACTIONS.map((action): [string, AppCommand] => [
      action,
      {
        check: (options) =>
          needsEdition(options) ??
          (action === 'skip' && !options.reason ? 'needs --reason TEXT (it is recorded)' : null),
        async run(app, options) {
          const act = editorActions(app.desk, operator(), options.reason ?? '')[action];
          const result = await act?.(options.edition ?? '');
          if (!result?.ok) {
            console.error(result?.error ?? 'unknown action');
            return 1;
          }
          printReport(await reportEdition(app, await app.desk.view(result.edition.id)));
          return 0;
        },
      },
    ]),
  ),
  resend: {
    check: (options) =>
      needsEdition(options) ??
      ([options.failed, options.all, options.email].filter(Boolean).length === 1
        ? null
        : 'needs exactly one of --failed, --email ADDRESS, --all'),
    async run(app, options) {
      const scope: ResendScope = options.failed
        ? { failed: true }
        : options.all
          ? { all: true }
          : { email: options.email ?? '' };
      const result = await app.deliveries.resend(options.edition ?? '', scope, operator());
      if (!result.ok) {
        console.error(result.error);
        return 1;
      }
      console.log(`Resend ${result.resend.run} queued for ${result.resend.recipients} recipient(s).`);
      if (options.wait) await waitUntilDelivered(app, options.edition ?? '');
      return 0;
    },
  },
  'poll-feeds': {
    check: () => null,
    async run(app) {
      for (const status of await app.feeds.pollAll(app.config.FEEDS)) console.log(JSON.stringify(status));
      return 0;
    },
  },
  import: {
    check(options, args) {
      if (!args[0]) return 'needs FILE.csv';
      if (!existsSync(args[0])) return `has no file ${args[0]}`;
      return parseImportedState(options.status ?? 'confirmed')
        ? null
        : '--status must be confirmed, unsubscribed or cleaned';
    },
    run: (app, options, args) =>
      importList(app, args[0] ?? '', parseImportedState(options.status ?? 'confirmed') ?? 'confirmed'),
  },
  'admin-user': {
    check: (_options, args) => (checkAdminName(args[0]) ? null : 'needs a NAME of letters, digits, ".", "-" or "_"'),
    async run(app, _options, args) {
      const name = args[0] ?? '';
      const password = await readPassword(name);
      if (!password) return 64;
      await app.adminUsers.set(name, password);
      console.log(`${name} can log in to the console now.`);
      return 0;
    },
  },
};

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

/** The summary for people on stderr, the whole report as JSON on stdout (for scripts). */
function printReport(report: EditionReport): void {
  console.error(`Edition ${report.id}: ${describeStatus(report)}`);
  if (report.actions.length > 0) console.error(`Editors can: ${report.actions.join(', ')}`);
  for (const alert of report.alerts.filter((item) => !item.resolvedAt)) console.error(`Alert: ${alert.text}`);
  console.log(JSON.stringify(reportJson(report), null, 2));
}

function checkAdminName(name: string | undefined): string | null {
  return name && isAdminName(name) ? name : null;
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
  if (!checkAdminName(name)) {
    console.error('admin-password needs a NAME of letters, digits, ".", "-" or "_"');
    return 64;
  }
  const password = await readPassword(name ?? '');
  if (!password) return 64;
  console.log(hashPassword(name ?? '', password));
  return 0;
}

/** Needs no Redis: PostgreSQL (DATABASE_URL, else the embedded server, started if need be), migrated. */
async function runMigrations(): Promise<number> {
  const config = loadConfigOrExit();
  try {
    const { ran } = await prepareDatabase(config, createLogger('cli', config.LOG_LEVEL, commandLogs()));
    console.log(
      ran.length > 0 ? `Ran ${ran.length} migration(s): ${ran.join(', ')}.` : 'The database schema is up to date.',
    );
    return 0;
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    console.error(error.message);
    return error.exitCode;
  }
}

/** Reads the file into an import and merges it here, printing progress (no worker needed). */
async function importList(app: App, file: string, state: ImportedState): Promise<number> {
  const id = await app.imports.receive(createReadStream(file), { fileName: basename(file), by: operator(), state });
  let last = 0;
  const summary = await app.imports.merge(id, (progress) => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    console.log(describeImport(progress));
  });
  if (!summary) return 1;
  console.log(`Import #${id}: ${describeImport(summary)}`);
  for (const [reason, count] of Object.entries(summary.skipped)) console.log(`  skipped, ${reason}: ${count}`);
  for (const row of (await app.imports.rejected(id, 20)).map(shownRejectedRow))
    console.log(`  line ${row.line}: ${row.reason}: ${row.text}`);
  if (summary.rejected > 20)
    console.log(`  … ${summary.rejected - 20} more rejected rows: see /console/subscribers/imports/${id}`);
  return summary.status === 'done' ? 0 : 1;
}

async function main(): Promise<number> {
  const { values, positionals } = parseOptions();
  const [command, ...args] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 64;
  }
  if (command === 'admin-password') return printAdminPassword(args[0]);
  if (command === 'migrate') return runMigrations();
  const chosen = COMMANDS[command];
  if (!chosen) {
    console.error(`Unknown command "${command}".\n\n${USAGE}`);
    return 64;
  }
  const problem = chosen.check(values, args);
  if (problem) {
    console.error(`${command} ${problem}.`);
    return 64;
  }
  const { app } = await boot('cli', { logs: commandLogs() });
  try {
    return await chosen.run(app, values, args);
  } finally {
    await app.close();
  }
}

process.exitCode = await main();
