import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { MaintenanceSpan, MinuteFigures } from './availability';

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

  /** One outbox row per contact (business and technical) of every active partner. */
  async notifyActivePartners(type: string, data: Record<string, unknown>, tx: Transaction): Promise<number> {
    const rows = await this.db.rows(
      `INSERT INTO notifications (type, partner_id, recipient, data)
       SELECT $1, p.id, c.email, $2 FROM partners p JOIN access_requests r ON r.id = p.access_request_id,
         LATERAL (SELECT DISTINCT lower(e) AS email FROM unnest(ARRAY[r.contact ->> 'email', r.technical_contact ->> 'email']) AS e
                  WHERE e IS NOT NULL) c
       WHERE p.status = 'active' RETURNING id`, [type, data], tx);
    return rows.length;
  }
}
