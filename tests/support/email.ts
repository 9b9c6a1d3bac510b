import { simpleParser } from 'mailparser';
import type { Article } from '../../src/articles/article.ts';
import type { Claimed } from '../../src/delivery/ledger.ts';
import { Messages } from '../../src/delivery/messages.ts';
import type { Section } from '../../src/editions/assemble.ts';
import type { Edition } from '../../src/editions/edition-store.ts';
import { EditionRenderer, type RenderedEdition } from '../../src/editions/render.ts';
import { EmailTemplates } from '../../src/platform/email-template.ts';
import { localeFor } from '../../src/platform/locale.ts';
import type { LocaleCode } from '../../src/platform/locales/index.ts';

export const PUBLIC_URL = 'https://news.example.com';
export const CUTOFF = new Date('2026-11-24T18:30:00Z');

/**
 * The renderer and Messages as the app wires them, without Redis or PostgreSQL: for tests of what an
 * email looks like and weighs as it leaves (the links are signed-looking stand-ins).
 */
export function emailKit(options: { locale?: LocaleCode; tracking?: boolean } = {}) {
  const locale = localeFor(options.locale ?? 'en');
  const templates = new EmailTemplates({ locale });
  const renderer = new EditionRenderer(templates, {
    newsletterName: 'Evening Digest',
    publicUrl: PUBLIC_URL,
    timeZone: 'UTC',
    tracking: options.tracking ?? false,
  });
  const token = (id: string) => `u.${id}.0.0.${'s'.repeat(27)}`;
  const messages = new Messages(
    {
      from: 'Evening Digest <digest@news.example.com>',
      listId: 'Evening Digest <digest.news.example.com>',
      domain: 'news.example.com',
      newsletterName: 'Evening Digest',
      confirmHours: 168,
      publicUrl: PUBLIC_URL,
      sendTime: '18:30 UTC',
      locale,
    },
    {
      readerUrls: (id) => ({
        unsubscribeUrl: `${PUBLIC_URL}/unsubscribe?token=${token(id)}`,
        preferencesUrl: `${PUBLIC_URL}/preferences?token=${token(id)}`,
      }),
      confirmUrl: (id) => `${PUBLIC_URL}/confirm?token=c.${id}`,
    },
    { token: () => 't'.repeat(28) },
    templates,
  );
  let editions = 0;
  return {
    locale,
    renderer,
    messages,
    /** Renders an edition and composes it for `recipient` as a worker would: the message as it leaves, read back. */
    async send(sections: Section[], recipient: Claimed = READER) {
      const rendered = await renderer.render('2026-11-24', CUTOFF, sections);
      const edition = editionOf(`kit-${(editions += 1)}`, rendered);
      const message = messages.edition(edition, recipient, 'main');
      const raw = Buffer.from(message.raw);
      messages.recycle(message);
      const parsed = await simpleParser(raw);
      return { rendered, raw, html: String(parsed.html), text: parsed.text ?? '' };
    },
  };
}

export const READER: Claimed = { id: '4242', email: 'ada.lovelace@example.com', name: 'Ada', format: 'html' };

export function editionOf(id: string, rendered: RenderedEdition): Edition {
  return {
    id,
    status: 'sending',
    holdReason: null,
    cutoff: CUTOFF,
    windowStart: CUTOFF,
    sendingAt: CUTOFF,
    sentAt: null,
    recordsRemovedAt: null,
    articleKeys: [],
    ...rendered,
    createdAt: CUTOFF,
    createdBy: 'test',
  };
}

/** An article with the fields a test cares about. */
export function article(index: number, fields: Partial<Article> = {}): Article {
  const url = `https://news.example.com/2026/11/24/story-${index}`;
  return {
    key: `t${index}`,
    id: url,
    url,
    title: `Story ${index}`,
    summary: '',
    imageUrl: '',
    imageAlt: '',
    section: '',
    publishedAt: new Date(CUTOFF.getTime() - (index + 1) * 60_000),
    source: 'test',
    editionId: null,
    selected: true,
    position: index,
    updatedAt: CUTOFF,
    ...fields,
  };
}

/** An evening in Arabic: the newsroom of an Arabic edition writes its articles in Arabic. */
export function arabicSections(): Section[] {
  const stories: Array<[string, string, string]> = [
    [
      'العالم',
      'استئناف محادثات وقف إطلاق النار في جنيف بينما تنتظر قوافل المساعدات على الحدود',
      'عاد المفاوضون من الجانبين إلى طاولة المفاوضات يوم الثلاثاء بعد توقف دام أسبوعًا، وقال المسؤولون إن تفاصيل إضافية ستُنشر صباح الأربعاء.',
    ],
    [
      'العالم',
      'فيضانات في وادي بو تجبر 12 ألف شخص على مغادرة منازلهم',
      'عملت فرق الطوارئ طوال الليل مع ارتفاع منسوب النهر إلى أعلى مستوى له منذ عام 1951.',
    ],
    [
      'اقتصاد',
      'البنك المركزي يبقي سعر الفائدة عند 3.75% ويلمّح إلى خفضه في الربيع',
      'قال صانعو السياسة إن التضخم يتراجع أسرع من المتوقع، لكن نمو الأجور لا يزال قويًا.',
    ],
    [
      'ثقافة',
      'إعادة افتتاح أقدم دار سينما في المدينة بعد ترميم موّله الجمهور',
      'دفع نحو أربعة آلاف شخص ثمن المقاعد الجديدة والأرغن المرمَّم وجهاز عرض 35 ملم.',
    ],
  ];
  const sections = new Map<string, Article[]>();
  stories.forEach(([section, title, summary], index) => {
    const item = article(index, {
      title,
      summary,
      section,
      imageUrl: `https://cdn.example.com/ar/${index}.jpg`,
      imageAlt: `صورة: ${title}`,
    });
    sections.set(section, [...(sections.get(section) ?? []), item]);
  });
  return [...sections].map(([name, articles]) => ({ name, articles }));
}
