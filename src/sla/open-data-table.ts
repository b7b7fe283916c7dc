import { ORGANISATION_TYPES } from '../partners/access-request.dto';
import { csvField } from '../common/csv';
import { cellsToSuppress, Sum } from './statistical-disclosure';

/** The lookups' outcomes, as columns: the audit's outcomes (DESIGN §5); anything else (an internal error) is unavailable. */
export const OPEN_DATA_OUTCOMES = ['ok', 'person_not_found', 'invalid', 'denied', 'rate_limited', 'unavailable', 'upstream_error', 'timeout'] as const;
/** Labels of the rows that are not one partner type or one context. */
export const ALL = '(tous)';
export const NO_CONTEXT = '(non renseigné)';
export const OTHER_CONTEXTS = '(autres)';
export const LICENCE = 'ODbL-1.0';
export const LICENCE_URL = 'https://opendatacommons.org/licenses/odbl/1-0/';
export const SOURCE = 'DINSIC (passerelle API droits CNAM)';
export const SUPPRESSED = 'NS';

/** One row of counts: a partner type and context, a partner type (context ALL), or everything (both ALL). */
export interface UsageGroup {
  partner_type: string;
  context: string;
  lookups: number;
  outcomes: Record<(typeof OPEN_DATA_OUTCOMES)[number], number>;
  persons: number;
}

const COUNT_COLUMNS = ['lookups', ...OPEN_DATA_OUTCOMES, 'distinct_persons'] as const;
export const OPEN_DATA_HEADER = ['month', 'partner_type', 'context', ...COUNT_COLUMNS, 'licence', 'source'];

const contextOrder = (context: string) => (context === ALL ? 3 : context === OTHER_CONTEXTS ? 2 : context === NO_CONTEXT ? 1 : 0);

/**
 * The month's usage table as published (DESIGN §6): per partner type, one row per context, the type's total, and
 * the whole; lookups by outcome and distinct persons. Counts below 11 are NS, and so are as many others as it takes
 * that no NS can be recomputed from the rows' totals (lookups = Σ outcomes), the types' totals (Σ of their contexts)
 * or the whole (Σ of the types). Distinct persons add up across nothing (one person may be looked up under several
 * contexts), so only the threshold applies to them.
 */
export function openDataCsv(month: string, groups: readonly UsageGroup[]): string {
  const typeOrder = (type: string) => (type === ALL ? ORGANISATION_TYPES.length : ORGANISATION_TYPES.indexOf(type as never));
  const rows = [...groups].sort((a, b) => typeOrder(a.partner_type) - typeOrder(b.partner_type)
    || contextOrder(a.context) - contextOrder(b.context) || (a.context < b.context ? -1 : a.context > b.context ? 1 : 0));
  if (!rows.some((row) => row.partner_type === ALL)) {
    rows.push({ partner_type: ALL, context: ALL, lookups: 0, persons: 0,
      outcomes: Object.fromEntries(OPEN_DATA_OUTCOMES.map((o) => [o, 0])) as UsageGroup['outcomes'] });
  }
  const width = COUNT_COLUMNS.length;
  const cell = (row: number, column: number) => row * width + column;
  const values = rows.flatMap((row) => [row.lookups, ...OPEN_DATA_OUTCOMES.map((o) => row.outcomes[o]), row.persons]);
  const additive = OPEN_DATA_OUTCOMES.length + 1; // lookups and the outcomes; not distinct persons
  const sums: Sum[] = rows.map((_, r) => ({ total: cell(r, 0), parts: OPEN_DATA_OUTCOMES.map((_o, i) => cell(r, i + 1)) }));
  const whole = rows.findIndex((row) => row.partner_type === ALL);
  const typeTotals: number[] = [];
  rows.forEach((row, r) => {
    if (row.partner_type === ALL || row.context !== ALL) return;
    typeTotals.push(r);
    const contexts = rows.flatMap((other, i) => (other.partner_type === row.partner_type && other.context !== ALL ? [i] : []));
    for (let c = 0; c < additive; c++) sums.push({ total: cell(r, c), parts: contexts.map((i) => cell(i, c)) });
  });
  for (let c = 0; c < additive; c++) sums.push({ total: cell(whole, c), parts: typeTotals.map((r) => cell(r, c)) });
  const suppressed = cellsToSuppress(values, sums);
  const lines = [OPEN_DATA_HEADER.join(','), ...rows.map((row, r) => [month, row.partner_type, row.context,
    ...COUNT_COLUMNS.map((_c, c) => (suppressed[cell(r, c)] ? SUPPRESSED : String(values[cell(r, c)]))), LICENCE, SOURCE]
    .map(csvField).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
