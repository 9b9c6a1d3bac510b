import { type Article, typedText } from '../articles/article.ts';
import type { ArticleStore } from '../articles/article-store.ts';
import type { Clock } from '../platform/clock.ts';
import type { Logger } from '../platform/logger.ts';
import { editionDuration } from '../platform/metrics.ts';
import { plainPersonalized } from '../platform/personal-fields.ts';
import type { AlertKind, Alerts } from './alerts.ts';
import { type Section, type SelectionRules, selectArticles } from './assemble.ts';
import type { Edition, EditionStatus, EditionStore, EventInput, HoldReason } from './edition-store.ts';
import {
  type ActionContext,
  decideAction,
  availableActions,
  type EditorAction,
  momentOf,
  NOT_YET_SENT,
  pastParticiple,
  schedulerStep,
} from './edition-states.ts';
import { decideHeld, type EditorialRules, isFresh } from './editorial-rules.ts';
import type { EditionRenderer, RenderedEdition } from './render.ts';
import type { CutoffSchedule, EditionWindow } from './window.ts';

/** Delivery as the desk needs it (provided by the delivery side). */
export interface DeliveryPort {
  /** Starts (or resumes) delivering an edition whose content is fixed; idempotent. */
  start(edition: Edition): Promise<'started' | 'running-elsewhere' | 'records-missing'>;
  /** Nothing of the edition is queued, being sent or waiting for a retry any more. */
  finished(edition: string): Promise<boolean>;
}

/** Throws when a rendered edition cannot become email (provided by the delivery side, which composes it). */
export type CompositionCheck = (edition: { id: string } & RenderedEdition) => void;

/** An edition as it would be if its content were fixed now. */
export interface Draft {
  id: string;
  cutoff: Date;
  window: EditionWindow;
  /** Every article the edition's window offers (chosen, automatic or left out), late arrivals included. */
  candidates: Article[];
  sections: Section[];
  articleKeys: string[];
  rendered: RenderedEdition;
}

export type ActionResult =
  | {
      ok: true;
      edition: Edition;
      created?: boolean;
      /** Another process is queueing this edition's deliveries right now; it carries on there. */
      fanOutElsewhere?: boolean;
    }
  | { ok: false; status: 404 | 409; error: string };

/** What an editor may do to an edition now. */
export type EditionAction = EditorAction;

/** The edition editors look at: stored, or the next one still collecting articles (`open`). */
export interface EditionView {
  id: string;
  status: EditionStatus;
  holdReason: HoldReason | null;
  cutoff: Date;
  edition: Edition | null;
  actions: EditionAction[];
  /** Past its cut-off by more than DIGEST_FRESH_HOURS: sending it now is sending it late. */
  fresh: boolean;
}

export interface EditionDeskDeps {
  store: EditionStore;
  articles: ArticleStore;
  renderer: EditionRenderer;
  schedule: CutoffSchedule;
  rules: SelectionRules;
  editorial: EditorialRules;
  delivery: DeliveryPort;
  checkComposition: CompositionCheck;
  alerts: Alerts;
  clock: Clock;
  logger: Logger;
}

/** Alerts that end when the edition goes out. */
const WAITING_ALERTS: readonly AlertKind[] = ['held', 'awaiting-approval', 'stale', 'approval-deadline', 'skipped'];

/**
 * The editions' day. At each cut-off the scheduler cuts an edition; it is held while it waits (for
 * articles, an approval, an editor's decision once stale), goes out as soon as it qualifies, and is
 * followed until everyone has it. Editors approve, send (now or late), skip and reopen. Every change
 * is an event with who and when; every condition that needs a person is an alert. Several
 * schedulers may run at once: every change is a compare-and-set in PostgreSQL.
 */
export class EditionDesk {
  constructor(private readonly deps: EditionDeskDeps) {}

  private get store(): EditionStore {
    return this.deps.store;
  }

  /**
   * The scheduler's work, on DIGEST_CRON and every minute: follow the editions not done yet, then
   * cut the latest scheduled cut-off's edition if it has none. Returns that edition.
   */
  async runDue(now = this.deps.clock.now()): Promise<Edition | null> {
    const latest = this.deps.schedule.latestAtOrBefore(now);
    for (const edition of await this.store.unfinished()) {
      try {
        await this.review(edition, latest, now);
      } catch (error) {
        this.deps.logger.error(
          { edition: edition.id, err: error instanceof Error ? error.message : String(error) },
          'could not follow up on an edition',
        );
      }
    }
    const id = this.deps.schedule.editionId(latest);
    if (!(await this.store.get(id))) await this.cut(id, latest, now);
    return this.store.get(id);
  }

  /** Today's edition (by the calendar date in DIGEST_TZ), sent now if it was not: cut early before its cut-off. Idempotent. */
  async sendNow(by: string, now = this.deps.clock.now()): Promise<ActionResult> {
    const id = this.deps.schedule.editionId(now);
    const existing = await this.store.get(id);
    if (existing && (existing.status === 'ready' || existing.status === 'sending')) {
      // Sent already: make sure its delivery goes on (a fan-out that was interrupted resumes here).
      const started = await this.followDelivery(existing, now);
      return {
        ok: true,
        edition: (await this.store.get(id)) ?? existing,
        created: false,
        fanOutElsewhere: started === 'running-elsewhere',
      };
    }
    if (existing && !NOT_YET_SENT.includes(existing.status)) return { ok: true, edition: existing, created: false };
    const result = await this.send(id, by, now);
    if (result.ok) return { ...result, created: true };
    // Another process sent it at the same moment: that is today's edition, sent once.
    const after = await this.store.get(id);
    return after && !NOT_YET_SENT.includes(after.status) && after.status !== 'failed'
      ? { ok: true, edition: after, created: false }
      : result;
  }

  /** Today's edition (what `sendNow` sends) and the window it would cover if sent now. */
  async todaysWindow(now = this.deps.clock.now()): Promise<{ id: string; window: EditionWindow }> {
    const id = this.deps.schedule.editionId(now);
    const scheduled = (await this.store.get(id))?.cutoff ?? this.scheduledCutoff(id, now);
    const end = scheduled.getTime() > now.getTime() ? now : scheduled;
    const previous = await this.store.previousSent(end);
    return { id, window: { start: previous?.cutoff ?? this.deps.schedule.previous(end), end } };
  }

  /**
   * The edition the Today page shows: the first of the latest cut-off's and the next ones that still
   * waits (not stored yet, held, approved, or skipped while it can be reopened); one sent early is
   * followed by the one after it.
   */
  async current(now = this.deps.clock.now()): Promise<EditionView> {
    for (const cutoff of this.upcomingCutoffs(now)) {
      const id = this.deps.schedule.editionId(cutoff);
      const stored = await this.store.get(id);
      const waiting = stored
        ? NOT_YET_SENT.includes(stored.status) ||
          (stored.status === 'skipped' &&
            decideAction('reopen', stored, this.context(id, stored.cutoff, now)).do !== 'refuse')
        : cutoff.getTime() > now.getTime() || isFresh(cutoff, now, this.deps.editorial);
      if (waiting) return this.view(id, now);
    }
    return this.view(this.deps.schedule.editionId(this.deps.schedule.next(now)), now);
  }

  /** An edition as editors see it, with what they may do to it now. */
  async view(id: string, now = this.deps.clock.now()): Promise<EditionView> {
    const edition = await this.store.get(id);
    const cutoff = edition?.cutoff ?? this.scheduledCutoff(id, now);
    const fresh = isFresh(cutoff, now, this.deps.editorial);
    const status = edition?.status ?? 'open';
    const actions = availableActions(edition ?? { status, holdReason: null }, this.context(id, cutoff, now));
    return { id, status, holdReason: edition?.holdReason ?? null, cutoff, edition, actions, fresh };
  }

  /** The current edition as it would be if it were sent now: the editors' live preview. */
  async preview(now = this.deps.clock.now()): Promise<Draft> {
    const current = await this.current(now);
    return this.compose(current.id, current.cutoff.getTime() > now.getTime() ? now : current.cutoff, { preview: true });
  }

  /** With approval required: approves a held edition (it goes out now), or the next one ahead of its cut-off. */
  async approve(id: string, by: string, now = this.deps.clock.now()): Promise<ActionResult> {
    return this.act('approve', id, { by, action: 'approved' }, now);
  }

  /** Sends an edition now: held (late, if past its freshness), approved, or the next one, cut early. */
  async send(id: string, by: string, now = this.deps.clock.now()): Promise<ActionResult> {
    return this.act('send', id, { by, action: 'sent now' }, now);
  }

  /** Does not send an edition (held, approved, or the next one); its articles go to the next edition. */
  async skip(id: string, by: string, reason: string, now = this.deps.clock.now()): Promise<ActionResult> {
    // One line as the editor typed it, whichever way it came: it goes into alerts, logs and PostgreSQL (which refuses a NUL byte).
    return this.act('skip', id, { by, action: 'skipped', note: typedText(reason, 300) || 'no reason given' }, now);
  }

  /** Takes a skip back while the edition is fresh and still the latest: it is as it was before the skip. */
  async reopen(id: string, by: string, now = this.deps.clock.now()): Promise<ActionResult> {
    return this.act('reopen', id, { by, action: 'reopened' }, now);
  }

  /** An editor's action, as the state machine (edition-states.ts) decides it, carried out. */
  private async act(action: EditorAction, id: string, event: EventInput, now: Date): Promise<ActionResult> {
    const edition = await this.store.get(id);
    if (!edition && !this.isCurrentOrNext(id, now))
      return { ok: false, status: 404, error: `no edition ${id} that could be ${pastParticiple(action)} now` };
    const cutoff = edition?.cutoff ?? this.scheduledCutoff(id, now);
    const state = edition ?? { status: 'open' as const, holdReason: null };
    const decision = decideAction(action, state, this.context(id, cutoff, now));
    switch (decision.do) {
      case 'refuse':
        return this.refused(edition, id, action, decision.why);
      case 'approve-ahead':
        return this.moveOrCreate(
          edition,
          id,
          cutoff,
          'approved',
          { ...event, note: 'ahead of its cut-off' },
          now,
          action,
        );
      case 'deliver': {
        const stored = edition ?? (await this.createToSend(id, cutoff, event.by, now));
        if (!stored) return this.refused(edition, id, action);
        return this.fixAndDeliver(stored, NOT_YET_SENT, now, { ...event, action: decision.event });
      }
      case 'skip': {
        const result = await this.moveOrCreate(edition, id, cutoff, 'skipped', event, now, action);
        if (!result.ok) return result;
        await this.deps.alerts.resolve(
          id,
          ['held', 'awaiting-approval', 'stale', 'approval-deadline'],
          `skipped by ${event.by}`,
          now,
        );
        await this.deps.alerts.raise(
          id,
          'skipped',
          `Edition ${id} is skipped by ${event.by}: ${event.note ?? ''}`,
          now,
        );
        return result;
      }
      case 'restore': {
        const moved = await this.store.transition(
          id,
          ['skipped'],
          decision.to.status,
          { ...event, at: now },
          { holdReason: decision.to.holdReason ?? undefined },
        );
        if (!moved.ok) return this.refused(edition, id, action);
        await this.deps.alerts.resolve(id, ['skipped'], `reopened by ${event.by}`, now);
        const reopened = await this.store.get(id);
        if (reopened) await this.review(reopened, this.deps.schedule.latestAtOrBefore(now), now);
        return this.result(id);
      }
    }
  }

  /** Where the edition named `id` stands for the state machine at `now`. */
  private context(id: string, cutoff: Date, now: Date): ActionContext {
    const latest = this.deps.schedule.latestAtOrBefore(now);
    return {
      moment: momentOf(cutoff, now, this.deps.editorial),
      approval: this.deps.editorial.approval,
      // Once a later cut-off has passed, the window is that edition's.
      latest: cutoff.getTime() >= latest.getTime() || this.deps.schedule.editionId(latest) === id,
    };
  }

  /** Moves a stored edition to `to`, or stores one not stored yet (open) as `to`; of two processes, one wins. */
  private async moveOrCreate(
    edition: Edition | null,
    id: string,
    cutoff: Date,
    to: EditionStatus,
    event: EventInput,
    now: Date,
    action: EditorAction,
  ): Promise<ActionResult> {
    const moved = edition
      ? (await this.store.transition(id, [edition.status], to, { ...event, at: now })).ok
      : await this.store.createIfAbsent(
          { ...this.newEdition(id, cutoff, event.by, now), status: to },
          { action: event.action, note: event.note ?? '' },
        );
    return moved ? this.result(id) : this.refused(await this.store.get(id), id, action);
  }

  /** An open edition that an editor sends: cut now (early, when before its cut-off). */
  private async createToSend(id: string, scheduled: Date, by: string, now: Date): Promise<Edition | null> {
    const early = scheduled.getTime() > now.getTime();
    await this.store.createIfAbsent(this.newEdition(id, early ? now : scheduled, by, now), {
      action: early ? 'cut early' : 'cut',
      note: `by ${by}`,
    });
    return this.store.get(id);
  }

  /** A new cut-off: its edition is held, then reviewed at once (it goes out if it qualifies). */
  private async cut(id: string, cutoff: Date, now: Date): Promise<void> {
    const draft = await this.gather(id, cutoff);
    if (!isFresh(cutoff, now, this.deps.editorial) && draft.articleKeys.length === 0) return; // nothing to decide: the next edition takes the window
    const created = await this.store.createIfAbsent(
      { ...this.newEdition(id, cutoff, 'scheduler', now), windowStart: draft.window.start },
      { action: 'cut', note: `${draft.articleKeys.length} articles` },
    );
    const edition = created ? await this.store.get(id) : null;
    if (edition) await this.review(edition, cutoff, now, draft.articleKeys.length);
  }

  /** Follows one unfinished edition a step further, as the state machine says. */
  private async review(edition: Edition, latest: Date, now: Date, articles?: number): Promise<void> {
    const step = schedulerStep(edition, momentOf(edition.cutoff, now, this.deps.editorial));
    switch (step.do) {
      case 'wait':
        return;
      case 'follow':
        await this.followDelivery(edition, now);
        return;
      case 'send-approved':
        await this.fixAndDeliver(edition, ['approved'], now, {
          by: 'scheduler',
          action: 'sent',
          note: 'approved ahead of its cut-off',
        });
        return;
      case 'cut': {
        const count = (await this.gather(edition.id, edition.cutoff)).articleKeys.length;
        const moved = await this.store.transition(edition.id, ['open'], 'held', {
          by: 'scheduler',
          action: 'cut',
          note: `${count} articles`,
          at: now,
        });
        const cut = moved.ok ? await this.store.get(edition.id) : null;
        if (cut) await this.decideHeld(cut, latest, now, count);
        return;
      }
      case 'decide-held':
        await this.decideHeld(edition, latest, now, articles);
    }
  }

  /** A held edition (or an approved one past its freshness) at or after its cut-off: sent, held or skipped. */
  private async decideHeld(edition: Edition, latest: Date, now: Date, articles?: number): Promise<void> {
    const count = articles ?? (await this.gather(edition.id, edition.cutoff)).articleKeys.length;
    const decision = decideHeld(
      { cutoff: edition.cutoff, now, articles: count, superseded: edition.cutoff.getTime() < latest.getTime() },
      this.deps.editorial,
    );
    if (decision.do === 'send') {
      const sent = await this.fixAndDeliver(edition, NOT_YET_SENT, now, {
        by: 'scheduler',
        action: decision.action,
        note: decision.note,
      });
      if (sent.ok && decision.withoutApproval) {
        await this.deps.alerts.raise(
          edition.id,
          'approval-deadline',
          `Edition ${edition.id} was not approved within ${this.deps.editorial.approvalDeadlineMinutes} minutes of its cut-off and went out without approval (DIGEST_APPROVAL_FALLBACK=send).`,
          now,
        );
      }
    } else if (decision.do === 'skip') {
      const moved = await this.store.transition(edition.id, NOT_YET_SENT, 'skipped', {
        by: 'scheduler',
        action: 'skipped',
        note: decision.note,
        at: now,
      });
      if (moved.ok) {
        await this.deps.alerts.resolve(
          edition.id,
          ['held', 'awaiting-approval', 'stale', 'approval-deadline'],
          'skipped',
          now,
        );
        await this.deps.alerts.raise(
          edition.id,
          'skipped',
          `Edition ${edition.id} is skipped: ${decision.note}; its articles go to the next edition`,
          now,
        );
      }
    } else {
      await this.hold(edition, decision.reason, count, now, decision.deadlinePassed === true);
    }
  }

  private async hold(
    edition: Edition,
    reason: HoldReason,
    articles: number,
    now: Date,
    deadlinePassed: boolean,
  ): Promise<void> {
    if (edition.status !== 'held' || edition.holdReason !== reason) {
      await this.store.transition(
        edition.id,
        NOT_YET_SENT,
        'held',
        { by: 'scheduler', action: 'held', note: reason, at: now },
        { holdReason: reason },
      );
    }
    const { id } = edition;
    const min = this.deps.editorial.minArticles;
    if (reason === 'too-few-articles')
      await this.deps.alerts.raise(
        id,
        'held',
        `Edition ${id} is held: ${articles} of the ${plural(min, 'article')} it needs. It goes out as soon as it has them (until ${this.freshUntil(edition)}).`,
        now,
      );
    if (reason === 'awaiting-approval')
      await this.deps.alerts.raise(
        id,
        'awaiting-approval',
        `Edition ${id} is waiting for an editor's approval (${plural(articles, 'article')}).`,
        now,
      );
    if (reason === 'awaiting-approval' && deadlinePassed) {
      await this.deps.alerts.raise(
        id,
        'approval-deadline',
        `Edition ${id} was not approved within ${this.deps.editorial.approvalDeadlineMinutes} minutes of its cut-off: it stays held until an editor sends or skips it.`,
        now,
      );
    }
    if (reason === 'stale')
      await this.deps.alerts.raise(
        id,
        'stale',
        `Edition ${id} was not sent within ${this.deps.editorial.freshHours} hours of its cut-off: an editor must send it late or skip it (${plural(articles, 'article')}).`,
        now,
      );
  }

  /** Fixes the content (rendered once, the window's articles taken), then hands the edition to delivery. */
  private async fixAndDeliver(
    edition: Edition,
    from: readonly EditionStatus[],
    now: Date,
    event: EventInput,
  ): Promise<ActionResult> {
    const timer = editionDuration.startTimer();
    const cutoff = edition.cutoff.getTime() > now.getTime() ? now : edition.cutoff;
    const draft = await this.compose(edition.id, cutoff);
    if (draft.articleKeys.length === 0)
      return { ok: false, status: 409, error: `edition ${edition.id} has no articles to send` };
    const log = this.deps.logger.child({ edition: edition.id });
    const error = this.compositionError(draft);
    if (error) {
      await this.store.transition(
        edition.id,
        from,
        'failed',
        { ...event, action: 'could not be composed', note: error },
        { error },
      );
      await this.deps.alerts.raise(
        edition.id,
        'compose-failed',
        `Edition ${edition.id} cannot be composed into email, so nothing was sent: ${error}`,
        now,
      );
      log.error({ error }, 'edition cannot be composed into email: nothing will be sent');
      return { ok: false, status: 409, error };
    }
    const fixed = await this.store.fixContent(
      edition.id,
      from,
      { cutoff, windowStart: draft.window.start, ...draft.rendered, articleKeys: draft.articleKeys },
      draft.candidates.map((article) => article.key),
      { ...event, at: now },
    );
    timer();
    if (!fixed.ok) return this.refused(await this.store.get(edition.id), edition.id, 'send');
    await this.store.clearDraft();
    log.info(
      {
        windowStart: draft.window.start,
        windowEnd: cutoff,
        articles: draft.articleKeys.length,
        by: event.by,
        action: event.action,
      },
      'edition assembled',
    );
    await this.deps.alerts.resolve(edition.id, WAITING_ALERTS, `${event.action} by ${event.by}`, now);
    const ready = await this.store.get(edition.id);
    const started = ready ? await this.followDelivery(ready, now) : 'started';
    const result = await this.result(edition.id);
    return result.ok && started === 'running-elsewhere' ? { ...result, fanOutElsewhere: true } : result;
  }

  /** Starts or resumes delivery; once everyone has it the edition is sent; late ones raise an alert. */
  private async followDelivery(edition: Edition, now: Date): Promise<Awaited<ReturnType<DeliveryPort['start']>>> {
    const started = await this.deps.delivery.start(edition);
    if (started === 'records-missing') {
      await this.deps.alerts.raise(
        edition.id,
        'records-missing',
        `Edition ${edition.id} was being delivered, but Redis holds no record of its delivery (restored or lost): it is not sent again by itself; resend it if readers are missing it.`,
        now,
      );
      return started;
    }
    if (edition.status === 'ready')
      await this.store.transition(edition.id, ['ready'], 'sending', {
        by: 'scheduler',
        action: 'delivery started',
        at: now,
      });
    const since = edition.sendingAt ?? now;
    if (await this.completeIfDelivered(edition.id, 'scheduler', now)) return started;
    if (now.getTime() - since.getTime() > this.deps.editorial.deliveryDeadlineMinutes * 60_000) {
      await this.deps.alerts.raise(
        edition.id,
        'delivery-late',
        `Edition ${edition.id} is not fully delivered ${this.deps.editorial.deliveryDeadlineMinutes} minutes after it started sending.`,
        now,
      );
    }
    return started;
  }

  /**
   * A worker finished a batch of the edition: if that was the last, the edition is sent now, not at
   * the scheduler's next minute.
   */
  async batchFinished(id: string, now = this.deps.clock.now()): Promise<void> {
    if ((await this.store.get(id))?.status === 'sending') await this.completeIfDelivered(id, 'worker', now);
  }

  /** Once everyone has it, a sending edition is sent (of several processes seeing it at once, one records it). */
  private async completeIfDelivered(id: string, by: string, now: Date): Promise<boolean> {
    if (!(await this.deps.delivery.finished(id))) return false;
    const done = await this.store.transition(id, ['sending'], 'sent', { by, action: 'delivered', at: now });
    if (done.ok) await this.deps.alerts.resolve(id, ['delivery-late'], 'everyone has it now', now);
    return true;
  }

  /** The edition `id` as it would be if its content were fixed with the articles published until `until`. */
  private async compose(id: string, until: Date, options = { preview: false }): Promise<Draft> {
    const gathered = await this.gather(id, until);
    const rendered =
      gathered.articleKeys.length > 0
        ? await this.deps.renderer.render(
            id,
            until,
            gathered.sections,
            await this.store.draft(),
            options.preview ? { tracking: false } : {},
          )
        : {
            subject: '',
            preheader: '',
            html: plainPersonalized(''),
            web: plainPersonalized(''),
            text: plainPersonalized(''),
            links: [],
            omitted: 0,
          };
    return { ...gathered, rendered };
  }

  /**
   * The window's articles: from the previous sent edition's cut-off to `until`, plus those published
   * in the window before it that arrived after it was sent (so a late item is never lost), minus
   * anything an edition has already taken (so none is sent twice).
   */
  private async gather(id: string, until: Date): Promise<Omit<Draft, 'rendered'>> {
    const previous = await this.store.previousSent(until);
    const start =
      previous?.cutoff ?? (await this.store.earliestWindowStart(until)) ?? this.deps.schedule.previous(until);
    const candidates = await this.deps.articles.waitingBetween(previous?.windowStart ?? start, until);
    const sections = selectArticles(candidates, this.deps.rules);
    return {
      id,
      cutoff: until,
      window: { start, end: until },
      candidates,
      sections,
      articleKeys: sections.flatMap((section) => section.articles.map((article) => article.key)),
    };
  }

  private compositionError(draft: Draft): string | undefined {
    try {
      this.deps.checkComposition({ id: draft.id, ...draft.rendered });
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** The latest cut-off and the next few: the editions editors can still act on before they happen. */
  private upcomingCutoffs(now: Date): Date[] {
    const cutoffs = [this.deps.schedule.latestAtOrBefore(now)];
    for (let ahead = 0; ahead < 3; ahead += 1)
      cutoffs.push(this.deps.schedule.next(cutoffs[cutoffs.length - 1] ?? now));
    return cutoffs;
  }

  /** The scheduled cut-off of the edition named `id` (its date in DIGEST_TZ) among the upcoming ones; invalid if none. */
  private scheduledCutoff(id: string, now: Date): Date {
    return (
      this.upcomingCutoffs(now).find((cutoff) => this.deps.schedule.editionId(cutoff) === id) ?? new Date(Number.NaN)
    );
  }

  private isCurrentOrNext(id: string, now: Date): boolean {
    return !Number.isNaN(this.scheduledCutoff(id, now).getTime());
  }

  private newEdition(id: string, cutoff: Date, by: string, now: Date) {
    return {
      id,
      status: 'held' as const,
      holdReason: null,
      cutoff,
      windowStart: this.deps.schedule.previous(cutoff),
      createdAt: now,
      createdBy: by,
    };
  }

  private freshUntil(edition: Edition): string {
    return (
      new Date(edition.cutoff.getTime() + this.deps.editorial.freshHours * 3600_000)
        .toISOString()
        .slice(0, 16)
        .replace('T', ' ') + ' UTC'
    );
  }

  private async result(id: string): Promise<ActionResult> {
    const edition = await this.store.get(id);
    return edition ? { ok: true, edition } : { ok: false, status: 404, error: `no edition ${id}` };
  }

  private refused(edition: Edition | null, id: string, action: EditorAction, why?: string): ActionResult {
    if (!edition && !why)
      return { ok: false, status: 404, error: `no edition ${id} that could be ${pastParticiple(action)} now` };
    if (why) return { ok: false, status: 409, error: why };
    const state =
      edition?.status === 'held' ? `held (${edition.holdReason ?? 'waiting'})` : (edition?.status ?? 'open');
    return { ok: false, status: 409, error: `edition ${id} is ${state}: it cannot be ${pastParticiple(action)} now` };
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
