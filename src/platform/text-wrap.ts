/** Plain-text mail reads best at most this wide (RFC 5322 recommends 78 characters a line). */
export const TEXT_WIDTH = 78;

/** A label this short ("[12]", "→") stays on the line of the link after it rather than alone above it. */
const LABEL = 8;

/**
 * Wraps each line of plain text at `width` characters, breaking only at spaces: a link, like any
 * word longer than a line, is never cut (it gets a line of its own, with at most a short label such
 * as "[3]" before it). Continuation lines keep the line's indentation. `measure` says how wide a
 * piece of text is (the default counts characters, not bytes).
 */
export function wrapText(
  text: string,
  width = TEXT_WIDTH,
  measure: (text: string) => number = (piece) => [...piece].length,
): string {
  return text
    .split('\n')
    .map((line) => wrapLine(line, width, measure))
    .join('\n');
}

function wrapLine(line: string, width: number, measure: (text: string) => number): string {
  if (measure(line) <= width) return line;
  const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
  const words = line.slice(indent.length).split(/ +/).filter(Boolean);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    const candidate = current ? `${current} ${word}` : word;
    const keepLabel = current !== '' && measure(current) < LABEL && /^https?:\/\//.test(word);
    if (!current || measure(indent + candidate) <= width || keepLabel) {
      current = candidate;
    } else {
      lines.push(indent + current);
      current = word;
    }
  }
  if (current) lines.push(indent + current);
  return lines.join('\n');
}
