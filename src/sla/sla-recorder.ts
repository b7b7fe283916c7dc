import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { OutageLog } from '../common/logging/outage-log';
import { parisDate } from '../common/paris-date';
import { latencyBucket, LATENCY_BUCKETS_MS, MINUTE_COUNTS, MinuteFigures } from './availability';
import { FreshRun } from '../common/fresh-run';

const MINUTE = 60_000;
const BUCKETS = LATENCY_BUCKETS_MS.length + 1;
/** Upstream failures: the minute's failure is the backend's, not the gateway's (DESIGN §6 incident causes). */
const UPSTREAM_CODES = new Set(['upstream_error', 'upstream_timeout', 'upstream_unavailable']);
const SERVER_SIDE = new Set([500, 502, 503, 504]);

interface MinuteCounters extends Omit<MinuteFigures, 'minute'> {
  latency: number[];
}

interface DayCounters {
  day: string;
  partnerId: string;
  calls: number;
  failures: number;
  outcomes: Record<string, number>;
  latency: number[];
}

const emptyMinute = (): MinuteCounters => ({ requests: 0, failures: 0, failures_upstream: 0, probes_ok: 0, probes_failed: 0,
  probes_failed_upstream: 0, latency: new Array(BUCKETS).fill(0) });

const ADD_MINUTE = `INSERT INTO sla_minutes (minute, instance, requests, failures, failures_upstream, probes_ok, probes_failed,
    probes_failed_upstream, latency_buckets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (minute, instance) DO UPDATE SET requests = sla_minutes.requests + EXCLUDED.requests,
    failures = sla_minutes.failures + EXCLUDED.failures, failures_upstream = sla_minutes.failures_upstream + EXCLUDED.failures_upstream,
    probes_ok = sla_minutes.probes_ok + EXCLUDED.probes_ok, probes_failed = sla_minutes.probes_failed + EXCLUDED.probes_failed,
    probes_failed_upstream = sla_minutes.probes_failed_upstream + EXCLUDED.probes_failed_upstream,
    latency_buckets = (SELECT array_agg(a + b ORDER BY i) FROM unnest(sla_minutes.latency_buckets, EXCLUDED.latency_buckets)
                       WITH ORDINALITY AS t(a, b, i))`;
const ADD_DAY = `INSERT INTO usage_days (day, partner_id, instance, calls, failures, outcomes, latency_buckets)
  VALUES ($1, $2, $3, $4, $5, $6, $7)
  ON CONFLICT (partner_id, day, instance) DO UPDATE SET calls = usage_days.calls + EXCLUDED.calls,
    failures = usage_days.failures + EXCLUDED.failures,
    outcomes = (SELECT jsonb_object_agg(k, COALESCE((usage_days.outcomes ->> k)::int, 0) + COALESCE((EXCLUDED.outcomes ->> k)::int, 0))
                FROM (SELECT jsonb_object_keys(usage_days.outcomes) UNION SELECT jsonb_object_keys(EXCLUDED.outcomes)) AS keys(k)),
    latency_buckets = (SELECT array_agg(a + b ORDER BY i) FROM unnest(usage_days.latency_buckets, EXCLUDED.latency_buckets)
                       WITH ORDINALITY AS t(a, b, i))`;

/**
 * What availability and usage are computed from (DESIGN §6): per minute, this instance's partner lookups, their
 * server-side failures and latency, and its probe's results; per partner and Paris day, calls by outcome. Counted
 * in memory on the request path (a few increments, never a write per request), added to PostgreSQL every
 * SLA_FLUSH_SECONDS and once more when the gateway stops; a flush that fails is merged back and retried.
 */
@Injectable()
export class SlaRecorder implements OnApplicationBootstrap, OnModuleDestroy {
  /** This process: rows are per instance, and a restart is a new instance (its minute rows add up). */
  readonly instance = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private minutes = new Map<number, MinuteCounters>();
  private days = new Map<string, DayCounters>();
  private timer?: NodeJS.Timeout;
  private readonly flusher = new FreshRun(() => this.write());
  private lastFlushAt = Date.now();
  private readonly outage = new OutageLog(new Logger(SlaRecorder.name), 'availability counters flush');

  constructor(private readonly db: Database, private readonly clock: Clock, @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.adapterHost.httpAdapter) return; // the CLI serves nothing and measures nothing
    // The service's commissioning: its first start ever, kept once.
    await this.db.rows('INSERT INTO sla_service (measured_from) VALUES ($1) ON CONFLICT DO NOTHING', [this.clock.now()]);
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.config.sla.flushSeconds * 1000);
    this.timer.unref();
    this.db.onBeforeClose(() => this.flush().catch(() => undefined));
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** A partner's lookup, answered: `code` is the problem code (or 'ok'), `outcome` the audit's. */
  recordLookup(at: Date, partnerId: string, status: number, code: string, outcome: string, ms: number): void {
    const counters = this.minute(at);
    const bucket = latencyBucket(ms);
    counters.requests++;
    counters.latency[bucket]++;
    const failed = SERVER_SIDE.has(status);
    if (failed) {
      counters.failures++;
      if (UPSTREAM_CODES.has(code)) counters.failures_upstream++;
    }
    const day = parisDate(at);
    const key = `${partnerId}|${day}`;
    let usage = this.days.get(key);
    if (!usage) this.days.set(key, (usage = { day, partnerId, calls: 0, failures: 0, outcomes: {}, latency: new Array(BUCKETS).fill(0) }));
    usage.calls++;
    if (failed) usage.failures++;
    usage.outcomes[outcome] = (usage.outcomes[outcome] ?? 0) + 1;
    usage.latency[bucket]++;
  }

  /** One probe's result: `upstream` when the backend caused its failure. */
  recordProbe(at: Date, ok: boolean, upstream: boolean): void {
    const counters = this.minute(at);
    if (ok) counters.probes_ok++;
    else {
      counters.probes_failed++;
      if (upstream) counters.probes_failed_upstream++;
    }
  }

  /** Seconds since the counters last reached the database. */
  secondsSinceFlush(): number {
    return (Date.now() - this.lastFlushAt) / 1000;
  }

  /**
   * Adds what was counted until now to the database; on failure, keeps it for the next flush. A flush already under
   * way took what was counted before it started: this call waits for the one after it (the last flush at shutdown
   * must not return with the latest minutes still in memory).
   */
  flush(): Promise<void> {
    return this.flusher.run();
  }

  private async write(): Promise<void> {
    const minutes = this.minutes;
    const days = this.days;
    if (minutes.size === 0 && days.size === 0) {
      this.lastFlushAt = Date.now();
      return;
    }
    this.minutes = new Map();
    this.days = new Map();
    try {
      await this.db.transaction(async (tx) => {
        for (const [minute, c] of minutes) {
          await this.db.rows(ADD_MINUTE, [new Date(minute), this.instance, c.requests, c.failures, c.failures_upstream, c.probes_ok,
            c.probes_failed, c.probes_failed_upstream, c.latency], tx);
        }
        for (const d of days.values()) {
          await this.db.rows(ADD_DAY, [d.day, d.partnerId, this.instance, d.calls, d.failures, d.outcomes, d.latency], tx);
        }
      });
      this.lastFlushAt = Date.now();
      this.outage.succeeded();
    } catch (error) {
      this.outage.failed(error);
      this.mergeBack(minutes, days);
      throw error;
    }
  }

  private mergeBack(minutes: Map<number, MinuteCounters>, days: Map<string, DayCounters>): void {
    for (const [minute, old] of minutes) {
      const now = this.minutes.get(minute);
      if (!now) this.minutes.set(minute, old);
      else {
        for (const key of MINUTE_COUNTS) now[key] += old[key];
        old.latency.forEach((count, i) => (now.latency[i] += count));
      }
    }
    for (const [key, old] of days) {
      const now = this.days.get(key);
      if (!now) this.days.set(key, old);
      else {
        now.calls += old.calls;
        now.failures += old.failures;
        for (const [outcome, count] of Object.entries(old.outcomes)) now.outcomes[outcome] = (now.outcomes[outcome] ?? 0) + count;
        old.latency.forEach((count, i) => (now.latency[i] += count));
      }
    }
  }

  private minute(at: Date): MinuteCounters {
    const minute = Math.floor(at.getTime() / MINUTE) * MINUTE;
    let counters = this.minutes.get(minute);
    if (!counters) this.minutes.set(minute, (counters = emptyMinute()));
    return counters;
  }
}
