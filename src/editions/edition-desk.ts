import type { ArticleStore } from '../articles/article-store.ts';
import type { Logger } from '../platform/logger.ts';
import { editionDuration } from '../platform/metrics.ts';
import { plainPersonalized } from '../platform/personal-fields.ts';
import { type Section, type SelectionRules, selectArticles } from './assemble.ts';
import type { Edition, EditionStore } from './edition-store.ts';
import type { EditionRenderer, RenderedEdition } from './render.ts';
import { type CutoffSchedule, type EditionWindow, windowFor } from './window.ts';

/** Starts (or resumes) delivery of an edition; idempotent. Provided by the delivery side. */
export type DeliveryStarter = (edition: Edition) => Promise<{ alreadyRunning?: boolean }>;

/** Throws when a rendered edition cannot become email (provided by the delivery side, which composes it). */
export type CompositionCheck = (edition: { id: string } & RenderedEdition) => void;

export interface Draft {
  id: string;
  window: EditionWindow;
  sections: Section[];
  articleKeys: string[];
  rendered: RenderedEdition;
}

export interface AssembleResult {
  edition: Edition;
  created: boolean;
  /** Another process is fanning this edition out right now; it carries on there. */
  fanOutElsewhere?: boolean;
}

/**
 * The editions' pipeline: at a cut-off, take the window's articles in the editors' order, render
 * them once, store the edition (exactly one per id, whoever else tries at the same moment) and
 * hand it to delivery.
 */
export interface EditionDeskDeps {
  store: EditionStore;
  articles: ArticleStore;
  renderer: EditionRenderer;
  schedule: CutoffSchedule;
  rules: SelectionRules;
  /** A scheduler that was down at the cut-off still sends the edition within this many hours. */
  catchupHours: number;
  startDelivery: DeliveryStarter;
  checkComposition: CompositionCheck;
  logger: Logger;
}

export class EditionDesk {
  constructor(private readonly deps: EditionDeskDeps) {}

  /**
   * What the scheduler calls on its cron and every minute: the latest scheduled cut-off gets its
   * edition if it has none and is recent enough (a process that was down at 18:30 catches up), and
   * an edition whose fan-out was interrupted is resumed.
   */
  async runDue(now = new Date()): Promise<Edition | null> {
    const cutoff = this.deps.schedule.latestAtOrBefore(now);
    const existing = await this.deps.store.get(this.deps.schedule.editionId(cutoff));
    if (existing) {
      await this.deliver(existing);
      return existing;
    }
    if (now.getTime() - cutoff.getTime() > this.deps.catchupHours * 3600_000) return null;
    const { edition } = await this.assemble(cutoff, 'scheduler');
    await this.deliver(edition);
    return edition;
  }

  /** Today's edition, cut now, sent now; a second call returns the same edition. */
  async sendNow(by: string, now = new Date()): Promise<AssembleResult> {
    const existing = await this.deps.store.get(this.deps.schedule.editionId(now));
    const result = existing ? { edition: existing, created: false } : await this.assemble(now, by);
    const delivery = await this.deliver(result.edition);
    return { ...result, ...(delivery.alreadyRunning ? { fanOutElsewhere: true } : {}) };
  }

  /** What the next edition would be if it were cut now: the editors' live preview. */
  async preview(now = new Date()): Promise<Draft> {
    return this.compose(this.deps.schedule.next(now), now, { preview: true });
  }

  async assemble(cutoff: Date, by: string): Promise<AssembleResult> {
    const timer = editionDuration.startTimer();
    const draft = await this.compose(cutoff, cutoff);
    const error = draft.articleKeys.length > 0 ? this.compositionError(draft) : undefined;
    const edition: Edition = {
      id: draft.id,
      status: draft.articleKeys.length === 0 ? 'empty' : error ? 'failed' : 'ready',
      cutoff,
      windowStart: draft.window.start,
      articleKeys: draft.articleKeys,
      ...draft.rendered,
      createdAt: new Date(),
      createdBy: by,
      recordsRemovedAt: null,
      ...(error ? { error } : {}),
    };
    const created = await this.deps.store.createIfAbsent(edition);
    timer();
    const log = this.deps.logger.child({ edition: draft.id });
    if (!created) {
      log.info('edition already assembled elsewhere; using that one');
      return { edition: (await this.deps.store.get(draft.id)) ?? edition, created: false };
    }
    await this.deps.store.clearDraft();
    if (edition.status === 'failed') {
      log.error({ error }, 'edition cannot be composed into email: nothing will be sent');
    } else if (edition.status === 'empty') {
      log.warn({ windowStart: draft.window.start, windowEnd: draft.window.end }, 'no articles in this window: nothing will be sent');
    } else {
      log.info({ windowStart: draft.window.start, windowEnd: draft.window.end, articles: draft.articleKeys.length, by }, 'edition assembled');
    }
    return { edition, created };
  }

  /** The edition for `cutoff` from the articles published up to `until` (the cut-off itself, or now for a preview). */
  private async compose(cutoff: Date, until: Date, options = { preview: false }): Promise<Draft> {
    const id = this.deps.schedule.editionId(cutoff);
    const window = windowFor(cutoff, await this.deps.store.latestCutoffBefore(cutoff), this.deps.schedule);
    const sections = selectArticles(await this.deps.articles.publishedBetween(window.start, until), this.deps.rules);
    const articleKeys = sections.flatMap((section) => section.articles.map((article) => article.key));
    const rendered =
      articleKeys.length > 0
        ? await this.deps.renderer.render(id, cutoff, sections, await this.deps.store.draft(), options.preview ? { tracking: false } : {})
        : { subject: '', preheader: '', html: plainPersonalized(''), text: plainPersonalized(''), links: [] };
    return { id, window, sections, articleKeys, rendered };
  }

  private compositionError(draft: Draft): string | undefined {
    try {
      this.deps.checkComposition({ id: draft.id, ...draft.rendered });
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  private async deliver(edition: Edition): Promise<{ alreadyRunning?: boolean }> {
    if (edition.status === 'empty' || edition.status === 'failed') return {};
    // The run is recorded in Redis before the edition is marked as sending: an edition marked as
    // sending with no run there means Redis lost it, and delivery refuses to start over.
    const started = await this.deps.startDelivery(edition);
    if (edition.status === 'ready') await this.deps.store.markSending(edition.id);
    return started;
  }
}
