import { isPersonalField, type PersonalizedText } from '../../src/platform/personal-fields.ts';

/**
 * Test shorthand for a body with personal-field positions: `{{email}}` marks a position. (The
 * service never finds positions in text; templates fix them when they are rendered.)
 */
export function personalized(text: string): PersonalizedText {
  const parts: string[] = [];
  const fields: PersonalizedText['fields'] = [];
  let last = 0;
  for (const match of text.matchAll(/\{\{([a-z_]+)\}\}/g)) {
    const field = match[1] ?? '';
    if (!isPersonalField(field)) throw new Error(`not a personal field: ${field}`);
    parts.push(text.slice(last, match.index));
    fields.push(field);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return { parts, fields };
}
