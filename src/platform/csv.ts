/**
 * A cell that starts with = + - @ (or a tab or CR) runs as a formula in a spreadsheet. Such a start is
 * neutralised with a `'` at the beginning of the value and after every `,` or `;` inside it: a
 * spreadsheet set to the other separator, or one that ignores quotes, splits there and would find a
 * formula. Values with separators, quotes or line breaks are quoted.
 */
export function csvField(value: string): string {
  const safe = value.replace(/(^|[,;\t\r\n])(\s*)(?=[=+\-@\t\r])/g, "$1$2'");
  return /[",;\n\r\t]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
