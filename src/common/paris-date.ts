const PARIS_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

// The date in Paris changes only on a whole UTC minute (its offsets are whole hours), so the last answer holds for
// the rest of its UTC minute: one Intl formatting a minute instead of one per lookup (about 7 µs each).
let cachedMinute = Number.NaN;
let cachedDate = '';

/** An instant's date in Europe/Paris, as YYYY-MM-DD. */
export function parisDate(now: Date): string {
  const minute = Math.floor(now.getTime() / 60_000);
  if (minute !== cachedMinute) {
    cachedDate = PARIS_DATE.format(now);
    cachedMinute = minute;
  }
  return cachedDate;
}
