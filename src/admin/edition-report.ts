import type { Deliveries, Progress } from '../delivery/deliveries.ts';
import type { Engagement, EngagementSummary } from '../delivery/engagement.ts';
import type { Alert, Alerts } from '../editions/alerts.ts';
import type { EditionDesk, EditionView } from '../editions/edition-desk.ts';
import type { EditionEvent, EditionStore } from '../editions/edition-store.ts';
import { type EditionFeedback, type FeedbackStore, summarizeFeedback } from '../feedback/feedback-store.ts';

/** Everything about one edition that editors and operators look at: its day, its delivery, who did what, the alerts. */
export interface EditionReport extends Omit<EditionView, 'edition'> {
  subject: string;
  articles: number;
  progress: Progress | null;
  events: EditionEvent[];
  alerts: Alert[];
  engagement: EngagementSummary | null;
  /** Bounces, complaints, policy blocks and unsubscribes reported after delivery; null for an edition not cut yet. */
  feedback: EditionFeedback | null;
}

export interface EditionReportDeps {
  desk: EditionDesk;
  editions: EditionStore;
  deliveries: Deliveries;
  alerts: Alerts;
  engagement: Engagement;
  feedbackStore: Pick<FeedbackStore, 'editionCounts'>;
}

/** The same report for the admin API, the console and the CLI. */
export async function reportEdition(deps: EditionReportDeps, view: EditionView): Promise<EditionReport> {
  const { edition, ...rest } = view;
  const [progress, events, alerts, engagement, feedbackCounts] = await Promise.all([
    edition ? deps.deliveries.progress(view.id) : null,
    deps.editions.events(view.id),
    deps.alerts.ofEdition(view.id),
    edition ? deps.engagement.summary(view.id) : null,
    edition ? deps.feedbackStore.editionCounts(view.id) : null,
  ]);
  const feedback = feedbackCounts ? summarizeFeedback(feedbackCounts, progress?.counts.sent ?? 0) : null;
  return {
    ...rest,
    subject: edition?.subject ?? '',
    articles: edition?.articleKeys.length ?? 0,
    progress,
    events,
    alerts,
    engagement,
    feedback,
  };
}

/** The report as JSON for machines (admin API, CLI): the delivery progress at the top level, as before the editorial day. */
export function reportJson(report: EditionReport): Record<string, unknown> {
  return { ...report.progress, ...report };
}

/** One line on where an edition stands, for people. */
export function describeStatus(
  report: Pick<EditionReport, 'status' | 'holdReason' | 'fresh' | 'progress'> & { events?: EditionEvent[] },
): string {
  switch (report.status) {
    case 'open':
      return 'Open: collecting articles until its cut-off';
    case 'held':
      if (report.holdReason === 'awaiting-approval') return 'Held: waiting for an editor’s approval';
      if (report.holdReason === 'stale') return 'Held: past its freshness, an editor must send it late or skip it';
      return 'Held: too few articles yet; it goes out as soon as it has enough';
    case 'approved':
      return 'Approved: it goes out at its cut-off';
    case 'skipped': {
      const skip = [...(report.events ?? [])].reverse().find((event) => event.to === 'skipped');
      return skip ? `Skipped by ${skip.by}: ${skip.note}` : 'Skipped';
    }
    case 'failed':
      return `Not sent: ${report.progress?.error ?? 'the edition could not be composed'}`;
    default: {
      const progress = report.progress;
      if (!progress?.finished) return 'Sending…';
      return progress.counts.failed > 0 ? `Finished: ${progress.counts.failed} failed` : 'All sent';
    }
  }
}
