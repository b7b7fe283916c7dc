import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuditService } from '../audit/audit.service';
import { Clock } from '../common/clock';
import { Database } from '../common/database/database';
import { OutageLog } from '../common/logging/outage-log';
import { parisDate } from '../common/paris-date';
import { NotificationsOutbox } from './outbox';

const CHECK_EVERY_MS = 15 * 60_000;
/** A transaction-scoped advisory lock: one instance at a time decides whether today's broadcast is done. */
const LOCK_KEY = 0x63_6b_70_74; // "ckpt"

/**
 * Partners hold copies of the audit trail's checkpoints (DESIGN §4 `audit.checkpoint`): once a day, and when an
 * auditor asks from the console, the latest signed checkpoint goes to every active partner's contacts (attached as
 * the JSON `GET /v1/audit/checkpoints/latest` answers, which `audit:verify --checkpoint` reads), so that history before
 * it cannot be rewritten without partners being able to prove it.
 */
@Injectable()
export class CheckpointBroadcast implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly outage = new OutageLog(new Logger(CheckpointBroadcast.name), 'daily checkpoint broadcast');
  private timer?: NodeJS.Timeout;

  constructor(private readonly audit: AuditService, private readonly outbox: NotificationsOutbox, private readonly db: Database,
    private readonly clock: Clock, private readonly adapterHost: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    if (!this.adapterHost.httpAdapter) return;
    this.timer = setInterval(() => void this.broadcastDaily().then(() => this.outage.succeeded(), (error) => this.outage.failed(error)),
      CHECK_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Today's broadcast (Paris day), unless one was already written today by any instance; answers the messages written. */
  async broadcastDaily(): Promise<number> {
    return this.broadcast(true);
  }

  /** A broadcast now (an auditor's request); answers the messages written (0 when no checkpoint exists yet). */
  async broadcastNow(): Promise<number> {
    return this.broadcast(false);
  }

  private async broadcast(oncePerDay: boolean): Promise<number> {
    const checkpoint = await this.audit.latestCheckpoint();
    if (!checkpoint) return 0;
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      await this.db.rows('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY], tx);
      if (oncePerDay) {
        const [{ done }] = await this.db.rows<{ done: boolean }>(
          // Today's rows only, by the index on created_at (migration 015): the Paris day's bounds as instants.
          `SELECT EXISTS (SELECT 1 FROM notifications WHERE type = 'audit.checkpoint'
             AND created_at >= ($1::date::timestamp AT TIME ZONE 'Europe/Paris')
             AND created_at < (($1::date + 1)::timestamp AT TIME ZONE 'Europe/Paris')) AS done`, [parisDate(now)], tx);
        if (done) return 0;
      }
      return this.outbox.toActivePartners('audit.checkpoint', { checkpoint }, tx);
    });
  }
}
