import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { csvField, detectDelimiter, peekFirstLine } from '../../src/platform/csv.ts';

describe('detectDelimiter', () => {
  it.each([
    ['a comma header', 'email,name,status', ','],
    ['a semicolon header (spreadsheets where the comma is the decimal mark)', 'email;name;status', ';'],
    ['a tab header', 'email\tname', '\t'],
    ['a comma header with semicolons and tabs in quotes', '"Email; Address","First\tName",status', ','],
    ['a semicolon header with commas in quotes', '"Name, full";email', ';'],
    ['the first row of a file without a header', 'reader@example.test,Bob;=1+1', ','],
    ['one column', 'email', ','],
    ['an empty file', '', ','],
    ['as many commas as semicolons', 'a,b;c', ','],
    ['as many semicolons as tabs', 'a;b\tc', ';'],
  ])('reads %s as separated by %j', (_label, line, delimiter) => {
    expect(detectDelimiter(line)).toBe(delimiter);
  });
});

describe('peekFirstLine', () => {
  it('gives the first line and then the whole stream, however it is cut into chunks', async () => {
    const content = Buffer.from('Émail;Näme\r\nreader@example.test;Zoë\n');
    // Cut inside the É and before the line end, so that neither is in one chunk.
    const chunks = [content.subarray(0, 1), content.subarray(1, 7), content.subarray(7, 14), content.subarray(14)];
    const { firstLine, whole } = await peekFirstLine(Readable.from(chunks));
    expect(firstLine).toBe('Émail;Näme');
    expect(await text(whole)).toBe(content.toString('utf8'));
  });

  it('reads no further than the first line end', async () => {
    let taken = 0;
    function* lines() {
      for (; taken < 1000;) {
        taken += 1;
        yield `line ${taken}\n`;
      }
    }
    const { firstLine, whole } = await peekFirstLine(Readable.from(lines()));
    expect(firstLine).toBe('line 1');
    expect(taken).toBeLessThan(50);
    expect((await text(whole)).split('\n')).toHaveLength(1001);
  });

  it('gives an empty line and an empty stream for an empty file', async () => {
    const { firstLine, whole } = await peekFirstLine(Readable.from([]));
    expect(firstLine).toBe('');
    expect(await text(whole)).toBe('');
  });
});

describe('csvField', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['  =1', "  '=1"],
    // A tab before a formula: the quote after it, safe whether a spreadsheet splits at the tab or trims it.
    ['\t=1+1', `"\t'=1+1"`],
    ['Bob;=1+1', `"Bob;'=1+1"`],
    ['Bob,\t@SUM(A1)', `"Bob,\t'@SUM(A1)"`],
    ['\tplain', `"'\tplain"`],
    ['line\n-1', `"line\n'-1"`],
    ['Jean-Luc', 'Jean-Luc'],
    ['say "hi"', '"say ""hi"""'],
  ])('writes %j as %j', (value, written) => {
    expect(csvField(value)).toBe(written);
  });
});
