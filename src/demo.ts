import type { App } from './app.ts';
import { ADMIN_SOURCE, type ArticleInput } from './articles/article.ts';

const SAMPLE_ARTICLES: Array<Omit<ArticleInput, 'publishedAt' | 'id'> & { slug: string }> = [
  {
    slug: 'ceasefire-talks',
    url: 'https://news.example.org/world/ceasefire-talks',
    title: 'Ceasefire talks resume as aid convoys wait at the border',
    summary: 'Negotiators met for a third day while hundreds of lorries with food and medicine queued at the crossing.',
    section: 'Top stories',
    imageUrl: 'https://picsum.photos/seed/convoy/1200/675',
    imageAlt: 'A line of aid lorries at dusk',
    selected: true,
    position: 1,
  },
  {
    slug: 'budget-vote',
    url: 'https://news.example.org/politics/budget-vote',
    title: 'Parliament passes budget after all-night session',
    summary:
      'The coalition held together by four votes; the opposition promised to fight the pension changes in court.',
    section: 'Top stories',
    selected: true,
    position: 2,
  },
  {
    slug: 'heatwave-cities',
    url: 'https://news.example.org/climate/heatwave-cities',
    title: 'How three cities are redesigning streets for hotter summers',
    summary: 'Shade sails, water fountains and fewer parking spaces: what planners learned from the record summer.',
    section: 'Features',
  },
  {
    slug: 'night-train',
    url: 'https://news.example.org/travel/night-train',
    title: 'On the last night train across the mountains before it closes',
    summary: 'Our reporter spent eleven hours with the crew & passengers of a service that ends next month.',
    section: 'Features',
  },
  {
    slug: 'chip-plant',
    url: 'https://news.example.org/business/chip-plant',
    title: 'Chip plant delayed again as costs climb',
    summary: 'The operator blamed equipment shortages; the region had counted on 3,000 jobs.',
    section: 'Business',
  },
];

const DEMO_READERS = [
  { email: 'ada@example.com', name: 'Ada' },
  { email: 'grace@example.com', name: 'Grace' },
  { email: 'reader@example.com', name: '' },
];

/** The samples are spread over at most this much of the window before its end. */
const SPREAD_MS = 6 * 3600_000;

/**
 * Loads sample articles into the window of today's edition (whatever the time of day, and whatever
 * the scheduler did: before the cut-off the edition will be cut early, after it a held edition gets
 * its articles) and confirmed readers, so that `sendNow` puts a real digest in the dev mailbox.
 * Readers are confirmed directly (marked as demo consent), not by email. Returns today's edition id.
 */
export async function loadDemo(app: App): Promise<{ edition: string; articles: number; readers: number }> {
  const { id, window } = await app.desk.todaysWindow();
  const end = window.end.getTime();
  const start = Math.max(window.start.getTime(), end - SPREAD_MS);
  const step = Math.max(1, Math.floor((end - start) / (SAMPLE_ARTICLES.length + 1)));
  for (const [index, { slug, ...article }] of SAMPLE_ARTICLES.entries()) {
    // One set of samples per edition: an edition that was sent keeps its own.
    const result = await app.intake.ingest(
      { ...article, id: `demo-${id}-${slug}`, publishedAt: new Date(end - step * (index + 1)).toISOString() },
      ADMIN_SOURCE,
    );
    if (!result.ok) throw new Error(`sample article rejected: ${result.issues.join('; ')}`);
  }
  for (const reader of DEMO_READERS) {
    const { id: readerId } = await app.subscribers.create(reader.email, {
      email: reader.email,
      name: reader.name,
      consentAt: new Date().toISOString(),
      consentIp: 'demo',
    });
    await app.subscribers.transition({
      id: readerId,
      from: ['pending', 'unsubscribed'],
      to: 'confirmed',
      reason: 'demo reader',
      by: 'digest demo',
    });
  }
  return { edition: id, articles: SAMPLE_ARTICLES.length, readers: DEMO_READERS.length };
}
