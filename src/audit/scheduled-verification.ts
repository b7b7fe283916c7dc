import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { InstanceStopping, Stopping } from '../common/stopping';
import { Metrics } from '../common/metrics';
import { AuditService } from './audit.service';

const VERIFY_LOCK = 4_711_002;
/** How often each instance looks whether a verification is due (and refreshes what its metrics say). */
export const CHECK_INTERVAL_MS = 10 * 60_000;

/**
 * When the current period of the schedule began: periods are counted from midnight UTC (1 January 1970), so that
 * with 24 hours the run comes every night shortly after 00:00 UTC (01:00 or 02:00 in Paris), at the same hour
 * whatever the length of the runs before, and with 6 hours at 00:00, 06:00, 12:00 and 18:00 UTC.
 */
export function scheduleSlot(now: Date, everyHours: number): Date {
  const period = everyHours * 3600_000;
  return new Date(Math.floor(now.getTime() / period) * period);
}

/** How long after a period's start the very first run may still start (later, it waits for the next period). */
const FIRST_RUN_WINDOW_MS = 3600_000;

/**
 * Whether the scheduled run of the period that began at `slot` is due at `now`: none started in it yet, and either
 * one ran before (a period missed, an instance down at its start: caught up at once) or this is the period's first
 * hour. The very first run thus waits for a period's start (the night, with 24 hours) rather than reading a trail of
 * millions of entries in the middle of the day of a first deployment or of the upgrade that brought it.
 */
export function scheduledRunDue(now: Date, slot: Date, ranThisPeriod: boolean, ranBefore: boolean): boolean {
  return !ranThisPeriod && (ranBefore || now.getTime() - slot.getTime() < FIRST_RUN_WINDOW_MS);
}

/** One completed verification of the whole trail, as stored in audit_verifications. */
export interface StoredVerification {
  started_at: Date;
  finished_at: Date;
  checked: number;
  checkpoints_checked: number;
  ok: boolean;
  first_bad_seq: number | null;
  problem: string | null;
  /** The auditor who asked for it from the console; null: run on schedule. */
  requested_by: string | null;
}

const COLUMNS = `started_at, finished_at, checked::float8 AS checked, checkpoints_checked::float8 AS checkpoints_checked, ok,
  first_bad_seq::float8 AS first_bad_seq, problem, requested_by`;

/**
 * The whole trail verified on a schedule, not only when an auditor asks: once in each period of
 * AUDIT_VERIFY_EVERY_HOURS (scheduleSlot, scheduledRunDue), by one instance of all (an advisory lock, and the runs of
 * the period read from the database under it), with one worker thread so that the other cores stay with the lookups. An entry or seal altered in old history is then
 * found within that period even if nobody verifies: the run is stored (audit_verifications, insert-only), an error
 * is logged, and every instance's /metrics says it (`gateway_audit_verification_ok` 0) for the alert rules.
 * It does not take the auditors' turn (AuditService#verify): their verifications of a few days do not wait an hour
 * behind it. A run that could not finish (database out of reach, the instance stopping) stores nothing and is tried
 * again at the next check. An auditor can start the same run out of schedule from
 * the console (runNow): the page does not wait for it.
 */
@Injectable()
export class ScheduledVerification implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ScheduledVerification.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<StoredVerification | undefined>;
  private reading?: Promise<StoredVerification | undefined>;

  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stopping: Stopping,
    metrics: Metrics,
  ) {
    metrics.gauge('gateway_audit_verification_ok',
      'Latest verification of the whole audit trail (scheduled, or asked for from the console): 1 intact, 0 broken (an entry, seal or checkpoint altered); absent before the first.',
      async () => {
        const latest = await this.latestForMetrics();
        return latest === undefined ? undefined : latest.ok ? 1 : 0;
      });
    metrics.gauge('gateway_audit_verification_period_seconds',
      'AUDIT_VERIFY_EVERY_HOURS in seconds: one scheduled verification per period, periods counted from midnight UTC; absent when there is none.',
      () => (config.audit.verifyEveryHours === 0 ? undefined : config.audit.verifyEveryHours * 3600));
    metrics.gauge('gateway_audit_verification_last_timestamp_seconds',
      'When the latest verification of the whole audit trail (scheduled, or asked for) ended (Unix time); absent before the first.',
      async () => {
        const latest = await this.latestForMetrics();
        return latest === undefined ? undefined : latest.finished_at.getTime() / 1000;
      });
  }

  onApplicationBootstrap(): void {
    // Manual sealing (AUDIT_SEAL_INTERVAL_MS=0, tests) also means manual verification: nothing runs on its own.
    if (this.config.audit.sealIntervalMs === 0 || this.config.audit.verifyEveryHours === 0) return;
    this.timer = setInterval(() => void this.runIfDue().catch((error: unknown) =>
      this.logger.warn(`scheduled audit verification did not run: ${(error as Error).name}`)), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The latest completed run, by any instance. */
  async latest(): Promise<StoredVerification | undefined> {
    return this.db.one<StoredVerification>(`SELECT ${COLUMNS} FROM audit_verifications ORDER BY finished_at DESC, id DESC LIMIT 1`);
  }

  /**
   * Verifies the whole trail if no run (scheduled or asked for) started in the current period of the schedule and
   * none is running now; returns the stored run, or undefined when none was due or it could not finish.
   */
  runIfDue(): Promise<StoredVerification | undefined> {
    return this.run(undefined);
  }

  /**
   * Starts a verification of the whole trail out of schedule, asked for by an auditor from the console (stored with
   * their id; it stands for the scheduled one of the current period). Resolves true once it has started — it goes on
   * in the background, its result is stored and shown when it ends —, false when one is already running on some
   * instance.
   */
  async runNow(requestedBy: string): Promise<boolean> {
    if (this.stopping.signal.aborted) throw new InstanceStopping();
    if (this.running) return false;
    let begun = false;
    return new Promise<boolean>((resolve, reject) => {
      this.run(requestedBy, () => {
        begun = true;
        resolve(true);
      }).then(() => resolve(false), (error: unknown) => {
        // Before it began (the database out of reach): the auditor is told. After: the page shows no new result.
        if (!begun) reject(error);
        else this.logger.warn(`audit verification asked for from the console did not finish: ${(error as Error).name}`);
      });
    });
  }

  /**
   * When the next scheduled run starts, given the latest stored one and whether one is running: 'due' when one is
   * (it starts at the next look, within CHECK_INTERVAL_MS: scheduledRunDue), else the start of the next period;
   * undefined when off.
   */
  nextRun(latest: StoredVerification | undefined, running: boolean): Date | 'due' | undefined {
    const hours = this.config.audit.verifyEveryHours;
    if (hours === 0) return undefined;
    const now = this.clock.now();
    const slot = scheduleSlot(now, hours);
    const due = !running && scheduledRunDue(now, slot, latest !== undefined && latest.started_at >= slot, latest !== undefined);
    return due ? 'due' : new Date(slot.getTime() + hours * 3600_000);
  }

  /** Whether an instance is verifying the whole trail now (the run's lock is held). */
  async inProgress(): Promise<boolean> {
    // Advisory locks are per database; pg_locks shows the whole server's.
    const row = await this.db.one<{ held: boolean }>(`SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = 0 AND objid = $1 AND objsubid = 1 AND granted) AS held`, [VERIFY_LOCK]);
    return row?.held ?? false;
  }

  private run(requestedBy: string | undefined, onStart?: () => void): Promise<StoredVerification | undefined> {
    this.running ??= this.runLocked(requestedBy, onStart).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runLocked(requestedBy: string | undefined, onStart?: () => void): Promise<StoredVerification | undefined> {
    const run = await this.db.underLock(VERIFY_LOCK, async (session) => {
      const started = this.clock.now();
      if (requestedBy === undefined) {
        const slot = scheduleSlot(started, this.config.audit.verifyEveryHours);
        const { rows: [runs] } = await session.query<{ now: boolean; before: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM audit_verifications WHERE started_at >= $1) AS now,
                  EXISTS (SELECT 1 FROM audit_verifications) AS before`, [slot]);
        if (!scheduledRunDue(started, slot, runs.now, runs.before)) return undefined;
      }
      onStart?.();
      return this.verifyAndStore(session, started, requestedBy);
    });
    return run.locked ? run.value : undefined;
  }

  private async verifyAndStore(session: PoolClient, started: Date, requestedBy: string | undefined): Promise<StoredVerification | undefined> {
    let result;
    try {
      result = await this.audit.verify(undefined, undefined, undefined, { threads: 1, background: true });
    } catch (error) {
      // Stopping: the next instance or start runs it.
      if (error instanceof InstanceStopping) return undefined;
      throw error;
    }
    const { rows: [stored] } = await session.query<StoredVerification>(
      `INSERT INTO audit_verifications (started_at, finished_at, checked, checkpoints_checked, ok, first_bad_seq, problem, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
      [started, this.clock.now(), result.checked, result.checkpoints_checked, result.ok, result.first_bad_seq ?? null,
        result.problem ?? null, requestedBy ?? null]);
    if (stored.ok) {
      this.logger.log(`${requestedBy ? 'audit verification asked for' : 'scheduled audit verification'}: the whole trail is intact (${stored.checked} entries, ${stored.checkpoints_checked} checkpoints)`);
    } else {
      this.logger.error(`AUDIT TRAIL VERIFICATION FAILED: ${stored.problem ?? 'the chain does not verify'}`
        + `${stored.first_bad_seq !== null ? ` (seq ${stored.first_bad_seq})` : ''}; see docs/audit.md`);
    }
    return stored;
  }

  /** The latest run for a scrape: one read for both gauges (a scrape collects them at once), a new one per scrape. */
  private latestForMetrics(): Promise<StoredVerification | undefined> {
    this.reading ??= this.latest().finally(() => (this.reading = undefined));
    return this.reading;
  }
}
