const DATE_TIME = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'long', timeStyle: 'short' });
const DATE = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'long' });
const MONTH = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', month: 'long', year: 'numeric' });

/** Dates as a French reader expects them, in Europe/Paris ("3 décembre 2026 à 09:15"). */
export function frenchDateTime(value: Date | string | null | undefined): string {
  return value ? DATE_TIME.format(new Date(value)) : '—';
}

export function frenchDate(value: Date | string | null | undefined): string {
  return value ? DATE.format(new Date(value)) : '—';
}

/** "décembre 2026" for 2026-12. */
export function frenchMonth(month: string): string {
  return MONTH.format(new Date(`${month}-15T12:00:00Z`));
}

/** A ratio as a French percentage with two decimals ("99,93 %"). */
export function percent(ratio: number | null | undefined): string {
  return ratio === null || ratio === undefined ? 'non mesurée' : `${(ratio * 100).toLocaleString('fr-FR', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} %`;
}

/** The value of a datetime-local field (Paris wall time) as an instant; undefined when it is not one. */
export function parisLocalToDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi] = match.map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  // Paris is UTC+1 or UTC+2: the instant whose Paris wall time is the one given.
  for (const offset of [60, 120]) {
    const candidate = new Date(asUtc - offset * 60_000);
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(candidate);
    if (parts === `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}`) return candidate;
  }
  return new Date(asUtc - 60 * 60_000);
}

/**
 * A Paris calendar day (a date field's value) as the instant it starts; with `next`, the day after's (an inclusive
 * "to" day). A value that is not a date is given back as it is, for the validation to name.
 */
export function parisDayStart(value: string | undefined, next = false): string | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const day = next ? new Date(Date.parse(`${value}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10) : value;
  return parisLocalToDate(`${day}T00:00`)?.toISOString();
}

const LOCAL = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' });

/** An instant as a datetime-local field's value, in Paris wall time (the inverse of parisLocalToDate). */
export function dateToParisLocal(value: Date | string): string {
  return LOCAL.format(new Date(value)).replace(' ', 'T');
}
