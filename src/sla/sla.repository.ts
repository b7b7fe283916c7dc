import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { MaintenanceSpan, MinuteFigures } from './availability';
import { ALL, NO_CONTEXT, OPEN_DATA_OUTCOMES, OTHER_CONTEXTS, UsageGroup } from './open-data-table';

/** A raw per-instance minute row, as exported (GET /admin/api/sla/minutes). */
export interface MinuteRow extends Omit<MinuteFigures, 'minute'> {
  minute: string;
  instance: string;
  latency_buckets: number[];
}

export interface UsageDay {
  day: string;
  partner_id: string;
  calls: number;
  failures: number;
  outcomes: Record<string, number>;
  latency_buckets: number[];
}

export interface FrozenReport {
  month: string;
  report: Record<string, unknown>;
}

/** Known outcomes counted by name; any other (an internal error) as unavailable. */
const OUTCOME_COUNTS = OPEN_DATA_OUTCOMES.map((outcome) => outcome === 'unavailable'
  ? `'unavailable', count(*) FILTER (WHERE outcome IS NULL OR outcome NOT IN (${OPEN_DATA_OUTCOMES.filter((o) => o !== 'unavailable').map((o) => `'${o}'`).join(', ')}))`
  : `'${outcome}', count(*) FILTER (WHERE outcome = '${outcome}')`).join(', ');

const FIGURES = `requests::int, failures::int, failures_upstream::int, probes_ok::int, probes_failed::int, probes_failed_upstream::int`;

/** Where availability and usage figures are kept, and the months' frozen reports (migration 007). */
@Injectable()
export class SlaRepository {
  constructor(private readonly db: Database) {}

  async measuredFrom(): Promise<Date | undefined> {
    return (await this.db.one<{ measured_from: Date }>('SELECT measured_from FROM sla_service'))?.measured_from;
  }

  /** The per-instance rows of [from, to), in minute order. */
  minuteRows(from: Date, to: Date): Promise<MinuteRow[]> {
    return this.db.rows<MinuteRow>(
      `SELECT to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS minute, instance, ${FIGURES}, latency_buckets
       FROM sla_minutes WHERE minute >= $1 AND minute < $2 ORDER BY minute, instance`, [from, to]);
  }

  /**
   * Announced windows over [from, to), as the gateway applied them: a window cancelled while it ran ended then; one
   * cancelled before it started never was.
   */
  async maintenance(from: Date, to: Date): Promise<MaintenanceSpan[]> {
    const rows = await this.db.rows<{ start: Date; end: Date }>(
      `SELECT starts_at AS start, LEAST(ends_at, COALESCE(cancelled_at, ends_at)) AS "end" FROM maintenance_windows
       WHERE starts_at < $2 AND ends_at > $1 AND (cancelled_at IS NULL OR cancelled_at > starts_at) ORDER BY starts_at`, [from, to]);
    return rows.map((row) => ({ start: row.start.getTime(), end: row.end.getTime() }));
  }

  /** Usage rows of [fromDay, toDay] (Paris dates), one partner's or every partner's, summed over instances by day. */
  usageDays(fromDay: string, toDay: string, partnerId?: string): Promise<UsageDay[]> {
    return this.db.rows<UsageDay>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, partner_id, calls::int, failures::int, outcomes, latency_buckets FROM usage_days
       WHERE day BETWEEN $1 AND $2 AND ($3::uuid IS NULL OR partner_id = $3) ORDER BY day, partner_id`, [fromDay, toDay, partnerId ?? null]);
  }

  async frozen(month: string): Promise<Record<string, unknown> | undefined> {
    return (await this.db.one<{ report: Record<string, unknown> }>('SELECT report FROM sla_reports WHERE month = $1', [month]))?.report;
  }

  /** The last frozen reports, newest first. */
  frozenReports(limit: number): Promise<FrozenReport[]> {
    return this.db.rows<FrozenReport>('SELECT month, report FROM sla_reports ORDER BY month DESC LIMIT $1', [limit]);
  }

  /** Freezes a month's report unless another instance did first; true when this call did. */
  async freeze(month: string, report: Record<string, unknown>, frozenAt: Date, keyId: string, signature: string, tx: Transaction): Promise<boolean> {
    const rows = await this.db.rows(`INSERT INTO sla_reports (month, report, frozen_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (month) DO NOTHING RETURNING month`, [month, report, frozenAt, keyId, signature], tx);
    return rows.length === 1;
  }

  /**
   * Partners' lookups of [from, to) by partner type and context, with outcomes and distinct persons, plus each type's
   * and the whole's totals (GROUPING SETS). A context is named only when at least `minPartners` partners used it
   * (trimmed, upper case): a label only one partner writes may say more about a case than a count.
   */
  usageGroups(from: Date, to: Date, minPartners: number): Promise<UsageGroup[]> {
    return this.db.rows<UsageGroup>(
      `WITH lookups AS (
         SELECT p.organisation_type AS partner_type, NULLIF(upper(btrim(e.context)), '') AS context, e.partner_id, e.outcome, e.subject_ref
         FROM audit_entries e JOIN partners p ON p.id = e.partner_id
         WHERE e.kind = 'lookup' AND e.occurred_at >= $1 AND e.occurred_at < $2),
       named AS (SELECT context FROM lookups WHERE context IS NOT NULL GROUP BY context HAVING count(DISTINCT partner_id) >= $3),
       labelled AS (
         SELECT l.partner_type, CASE WHEN l.context IS NULL THEN $4 WHEN n.context IS NULL THEN $5 ELSE l.context END AS context,
                l.outcome, l.subject_ref
         FROM lookups l LEFT JOIN named n ON n.context = l.context)
       SELECT COALESCE(partner_type, $6) AS partner_type, CASE WHEN GROUPING(context) = 1 THEN $6 ELSE context END AS context,
              count(*)::int AS lookups, json_build_object(${OUTCOME_COUNTS}) AS outcomes, count(DISTINCT subject_ref)::int AS persons
       FROM labelled GROUP BY GROUPING SETS ((partner_type, context), (partner_type), ())`,
      [from, to, minPartners, NO_CONTEXT, OTHER_CONTEXTS, ALL]);
  }

  async openData(month: string): Promise<string | undefined> {
    return (await this.db.one<{ csv: string }>('SELECT csv FROM open_data_usage WHERE month = $1', [month]))?.csv;
  }

  /** Stores a month's open data unless another instance did first; answers what is stored. */
  async publishOpenData(month: string, csv: string, at: Date): Promise<string> {
    await this.db.rows('INSERT INTO open_data_usage (month, csv, published_at) VALUES ($1, $2, $3) ON CONFLICT (month) DO NOTHING', [month, csv, at]);
    return (await this.openData(month))!;
  }

  /** Per partner: calls since `fromDay` (a Paris date) and the last Paris day it called at all. */
  partnerActivity(fromDay: string): Promise<{ partner_id: string; calls: number; last_day: string }[]> {
    return this.db.rows(
      `SELECT partner_id, COALESCE(sum(calls) FILTER (WHERE day >= $1), 0)::int AS calls, to_char(max(day), 'YYYY-MM-DD') AS last_day
       FROM usage_days GROUP BY partner_id`, [fromDay]);
  }
}
