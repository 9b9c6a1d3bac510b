import type { App } from './app.ts';
import { ADMIN_SOURCE, type ArticleInput } from './articles/article.ts';

const SAMPLE_ARTICLES: Array<Omit<ArticleInput, 'publishedAt'>> = [
  {
    id: 'demo-ceasefire-talks',
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
    id: 'demo-budget-vote',
    url: 'https://news.example.org/politics/budget-vote',
    title: 'Parliament passes budget after all-night session',
    summary: 'The coalition held together by four votes; the opposition promised to fight the pension changes in court.',
    section: 'Top stories',
    selected: true,
    position: 2,
  },
  {
    id: 'demo-heatwave-cities',
    url: 'https://news.example.org/climate/heatwave-cities',
    title: 'How three cities are redesigning streets for hotter summers',
    summary: 'Shade sails, water fountains and fewer parking spaces: what planners learned from the record summer.',
    section: 'Features',
  },
  {
    id: 'demo-night-train',
    url: 'https://news.example.org/travel/night-train',
    title: 'On the last night train across the mountains before it closes',
    summary: 'Our reporter spent eleven hours with the crew & passengers of a service that ends next month.',
    section: 'Features',
  },
  {
    id: 'demo-chip-plant',
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

/**
 * Loads sample articles and confirmed readers and sends today's edition, so a newcomer sees a real
 * digest in the dev mailbox. Readers are confirmed directly (marked as demo consent), not by email.
 */
export async function loadDemo(app: App): Promise<{ articles: number; readers: number }> {
  const now = Date.now();
  const windowStart = (await app.editions.latestCutoffBefore(new Date(now)))?.getTime() ?? app.schedule.previous(new Date(now)).getTime();
  // Spread the samples over the current window so they all belong to today's edition.
  const step = Math.max(1000, Math.floor((now - windowStart) / (SAMPLE_ARTICLES.length + 1)));
  for (const [index, article] of SAMPLE_ARTICLES.entries()) {
    const result = await app.intake.ingest({ ...article, publishedAt: new Date(now - step * (index + 1)).toISOString() }, ADMIN_SOURCE);
    if (!result.ok) throw new Error(`sample article rejected: ${result.issues.join('; ')}`);
  }
  for (const reader of DEMO_READERS) {
    const { id } = await app.subscribers.create(reader.email, { email: reader.email, name: reader.name, consentAt: new Date().toISOString(), consentIp: 'demo' });
    await app.subscribers.transition({ id, from: ['pending', 'unsubscribed'], to: 'confirmed', reason: 'demo reader', by: 'digest demo' });
  }
  return { articles: SAMPLE_ARTICLES.length, readers: DEMO_READERS.length };
}
