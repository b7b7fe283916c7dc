const PARIS_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/** An instant's date in Europe/Paris, as YYYY-MM-DD. */
export function parisDate(now: Date): string {
  return PARIS_DATE.format(now);
}
