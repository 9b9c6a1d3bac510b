import { describe, expect, it } from 'vitest';
import { TEXT_WIDTH, wrapText } from '../../src/platform/text-wrap.ts';

describe('wrapText', () => {
  it('wraps at spaces within 78 characters and keeps short lines and blank lines as they are', () => {
    const paragraph =
      'Negotiators from both sides returned to the table on Tuesday after a week-long pause, officials said.';
    const wrapped = wrapText(`Short line\n\n${paragraph}\n-- `);
    const lines = wrapped.split('\n');
    expect(lines.slice(0, 2)).toEqual(['Short line', '']);
    expect(lines.at(-1)).toBe('-- ');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(TEXT_WIDTH);
    expect(lines.slice(2, -1).join(' ')).toBe(paragraph);
  });

  it('never cuts a link: it gets its own line, keeping a short label such as [12] before it', () => {
    const url = `https://news.example.com/${'long-path/'.repeat(12)}?q=1`;
    const wrapped = wrapText(`Read the whole story at ${url} tonight.\n[12] ${url}`);
    expect(wrapped.split('\n')).toEqual(['Read the whole story at', url, 'tonight.', `[12] ${url}`]);
  });

  it('counts characters, not bytes, and keeps the indentation of continued lines', () => {
    const arabic =
      'عاد المفاوضون من الجانبين إلى طاولة المفاوضات يوم الثلاثاء بعد توقف دام أسبوعًا، وقال المسؤولون إن تفاصيل إضافية ستنشر';
    const lines = wrapText(arabic).split('\n');
    expect(lines.length).toBe(2);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(TEXT_WIDTH);
    const indented = wrapText(`   ${'word '.repeat(30).trim()}`).split('\n');
    expect(indented.length).toBeGreaterThan(1);
    for (const line of indented) expect(line.startsWith('   word')).toBe(true);
  });

  it('measures with the given function (personal values count as their expected width)', () => {
    const marker = 'MARK';
    const wrapped = wrapText(
      `${marker}, here is tonight’s selection: 20 stories chosen by our editors.`,
      78,
      (line) => [...line].length + (line.includes(marker) ? 44 : 0),
    );
    expect(wrapped.split('\n')[0]).toBe(`${marker}, here is tonight’s selection:`);
  });
});
