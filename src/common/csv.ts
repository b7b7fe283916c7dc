/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; objects as JSON; a text that a
 * spreadsheet would take for a formula (=, +, -, @, tab, CR first) gets a leading apostrophe, so that opening an
 * export does not run it (CSV injection). Numbers are written as they are.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
