import type { Article } from '../src/articles/article.ts';
import type { Claimed } from '../src/delivery/ledger.ts';
import type { Section } from '../src/editions/assemble.ts';

/** A realistic evening edition: 4 sections of 5 articles (6 with 30), ~300-character summaries, an image each. */
const STORIES: Array<[section: string, title: string, lead: string]> = [
  [
    'World',
    'Ceasefire talks resume in Geneva as aid convoys wait at the border',
    'Negotiators from both sides returned to the table on Tuesday after a week-long pause.',
  ],
  [
    'World',
    'Flooding in the Po valley forces 12,000 from their homes',
    'Emergency crews worked through the night as the river rose to its highest level since 1951.',
  ],
  [
    'World',
    'Chile’s new constitution heads to a second referendum',
    'The draft, written by an elected council, keeps most of the current charter’s economic rules.',
  ],
  [
    'World',
    'Japan’s prime minister survives a confidence vote by nine votes',
    'Opposition parties had hoped that a funding scandal would split the governing coalition.',
  ],
  [
    'World',
    'Nairobi opens Africa’s largest bus rapid transit line',
    'The 32-kilometre corridor is expected to carry 300,000 passengers a day within two years.',
  ],
  [
    'Business',
    'Central bank holds rates at 3.75% and signals cuts in the spring',
    'Policymakers said inflation is falling faster than forecast, but wage growth remains strong.',
  ],
  [
    'Business',
    'Chipmaker’s shares jump 14% on a record quarter for data-centre sales',
    'The company raised its full-year outlook and announced a $20bn share buyback programme.',
  ],
  [
    'Business',
    'Supermarkets agree to cap the price of 150 staple products until March',
    'The voluntary deal follows months of pressure from consumer groups and the competition regulator.',
  ],
  [
    'Business',
    'Port strike enters its third week with no talks scheduled',
    'Shipping lines have begun diverting container vessels to Rotterdam and Antwerp.',
  ],
  [
    'Business',
    'Start-up funding falls to a five-year low, except for one sector',
    'Investors poured money into battery storage while most other areas saw sharp declines.',
  ],
  [
    'Science',
    'Astronomers find water vapour in the atmosphere of a rocky exoplanet',
    'The planet orbits a red dwarf 40 light years away and is slightly larger than Earth.',
  ],
  [
    'Science',
    'A blood test spots pancreatic cancer up to three years earlier',
    'The trial followed 18,000 patients and found the test missed fewer than one case in ten.',
  ],
  [
    'Science',
    'Europe’s heat record broken again as October ends 2.1°C above average',
    'Climate scientists said the autumn warmth was driven by unusually warm seas in the Atlantic.',
  ],
  [
    'Science',
    'Bees learn to count to four, and forget just as quickly',
    'Researchers trained bumblebees with sugar rewards and tested them a day and a week later.',
  ],
  [
    'Science',
    'Fusion experiment holds plasma for a record 22 minutes',
    'The tokamak in Hefei beat its own record, a step towards steady-state operation.',
  ],
  [
    'Culture',
    'The Booker goes to a debut novel set in a Glasgow launderette',
    'Judges praised its “quiet, devastating” portrait of three generations of one family.',
  ],
  [
    'Culture',
    'A lost Vermeer? Conservators say an X-ray changes the picture',
    'Underdrawings discovered beneath a Delft interior closely match the master’s known technique.',
  ],
  [
    'Culture',
    'The city’s oldest cinema reopens after a crowd-funded restoration',
    'Almost 4,000 people paid for new seats, a restored organ and a 35mm projector.',
  ],
  [
    'Culture',
    'Review: a four-hour Hamlet that never drags',
    'The production’s young lead finds new doubt in every soliloquy, and the audience stayed to the end.',
  ],
  [
    'Culture',
    'Football: late penalty sends the league leaders out of the cup',
    'A VAR review in the 94th minute settled a tie that had gone back and forth all evening.',
  ],
  // Ten more, for the email size rows at 30 articles (DIGEST_MAX_ARTICLES); the first 20 stay what the delivery rounds send.
  [
    'Politics',
    'Coalition agrees on a budget after a 19-hour negotiating session',
    'The deal raises defence spending and delays the planned cut in income tax by a year.',
  ],
  [
    'Politics',
    'Mayor wins a recount by 212 votes and promises to serve everyone',
    'Her challenger conceded on the steps of the town hall and called for calm.',
  ],
  [
    'Politics',
    'Parliament votes to lower the voting age to 16 for local elections',
    'The change will apply from the next municipal elections, in the spring of 2028.',
  ],
  [
    'Politics',
    'Inquiry finds ministers ignored warnings about the rail contract',
    'The report says officials raised concerns about costs on eleven occasions.',
  ],
  [
    'Politics',
    'Regional assembly passes a law protecting 40 km of coastline',
    'Building within 500 metres of the shore will need the assembly’s approval.',
  ],
  [
    'Sport',
    'Marathon record falls by 40 seconds on a cold morning in Valencia',
    'The winner ran the second half faster than the first and crossed the line alone.',
  ],
  [
    'Sport',
    'Women’s cup final sells out in a record 48 minutes',
    'Organisers will open a fan zone next to the stadium for those without tickets.',
  ],
  [
    'Sport',
    'Cycling team withdraws from the tour after a positive test',
    'The rider has asked for his second sample to be analysed and denies wrongdoing.',
  ],
  [
    'Sport',
    'Chess prodigy, 14, qualifies for the candidates tournament',
    'She clinched her place with a draw in the final round of the Grand Swiss.',
  ],
  [
    'Sport',
    'Tennis: veteran saves five match points to reach the semi-finals',
    'At 37 he is the oldest semi-finalist at the tournament since 1977.',
  ],
];

const FILLER = [
  'Officials said further details would be published on Wednesday morning.',
  'Critics argue the plan does too little, too late, and warn of the costs of delay.',
  'Our correspondent reports on what it means for readers and what happens next.',
  'The announcement drew a mixed reaction from analysts, unions and local residents.',
  'Figures released this afternoon suggest the trend is likely to continue into next year.',
];

/** A summary of about 300 characters: the lead, then filler sentences. */
function summary(lead: string, index: number): string {
  let text = lead;
  for (let step = 0; text.length < 280; step += 1) text += ` ${FILLER[(index + step) % FILLER.length]}`;
  return text;
}

/** The bench's evening edition: its first `count` stories (20 by default, at most 30), in sections of five. */
export function benchSections(now = new Date('2026-11-24T18:30:00Z'), count = 20): Section[] {
  const sections = new Map<string, Article[]>();
  STORIES.slice(0, count).forEach(([section, title, lead], index) => {
    const slug = title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 60);
    const url = `https://news.example.com/2026/11/24/${slug}`;
    const publishedAt = new Date(now.getTime() - (index + 1) * 17 * 60_000);
    const article: Article = {
      key: `k${String(index).padStart(3, '0')}`,
      id: url,
      url,
      title,
      summary: summary(lead, index),
      imageUrl: `https://cdn.example.com/images/2026/11/24/${slug}-1280x720.jpg`,
      imageAlt: `Photograph: ${title}`,
      section,
      publishedAt,
      source: 'bench',
      editionId: null,
      selected: true,
      position: index,
      updatedAt: now,
    };
    sections.set(section, [...(sections.get(section) ?? []), article]);
  });
  return [...sections].map(([name, articles]) => ({ name, articles }));
}

const FIRST = [
  'Anna',
  'Ben',
  'Chloé',
  'David',
  'Emma',
  'Farid',
  'Grace',
  'Hiroshi',
  'Inès',
  'Jonas',
  'Kofi',
  'Laura',
  'Mateo',
  'Nora',
  'Óscar',
  'Priya',
];
const LAST = [
  'Smith',
  'Müller',
  'García',
  'Okafor',
  'Nguyen',
  'Rossi',
  'Kowalski',
  'Andersson',
  'Dubois',
  'Tanaka',
  'O’Brien',
  'Silva',
];
const DOMAINS = ['example.com', 'mail.example.net', 'example.org', 'inbox.example.co.uk', 'example.de'];

const LOCAL_PARTS = new Map<string, string>();

/** Deterministic subscriber for an id: about one in eight has no name; some names are not ASCII. */
export function benchRecipient(id: number): Claimed {
  const first = FIRST[id % FIRST.length] ?? 'Anna';
  const last = LAST[(id >> 4) % LAST.length] ?? 'Smith';
  const pair = `${first}.${last}`;
  let local = LOCAL_PARTS.get(pair);
  if (local === undefined) {
    local = pair
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    LOCAL_PARTS.set(pair, local);
  }
  return {
    id: String(id),
    email: `${local}.${id}@${DOMAINS[id % DOMAINS.length]}`,
    name: id % 8 === 0 ? '' : `${first} ${last}`,
    format: 'html',
  };
}

/** The same subscriber at another domain (the relay profile spreads its recipients over the relay's domains). */
export function benchRecipientAt(id: number, domain: string): Claimed {
  const recipient = benchRecipient(id);
  return { ...recipient, email: `${recipient.email.slice(0, recipient.email.lastIndexOf('@'))}@${domain}` };
}

/** The settings every bench process shares (the orchestrator's app, the workers, the baselines). */
export const BENCH_IDENTITY = {
  APP_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
  ADMIN_TOKEN: 'bench-admin-token-0123456789',
  MAIL_FROM: 'Evening Digest <digest@news.example.com>',
  PUBLIC_URL: 'https://news.example.com',
  NEWSLETTER_NAME: 'Evening Digest',
};
