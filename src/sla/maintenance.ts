import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { ActionLog, Actor } from '../audit/action-log';
import { Clock } from '../common/clock';
import { OutageLog } from '../common/logging/outage-log';
import { Database, Transaction } from '../common/database/database';
import { Conflict, NotFound, ValidationFailed } from '../common/errors/domain-errors';
import { isUuid } from '../common/ids';
import { NotificationsOutbox } from '../notifications/outbox';
import { PLAIN_TEXT } from '../common/http/validators';

export class MaintenanceWindowDto {
  @ApiProperty({ example: '2026-12-06T22:00:00+01:00' })
  @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date-time' })
  start!: string;

  @ApiProperty({ example: '2026-12-07T02:00:00+01:00' })
  @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date-time' })
  end!: string;

  @ApiProperty({ example: 'Migration du serveur de bases de données' })
  @IsString() @MinLength(3) @MaxLength(500) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  reason!: string;
}

/** A change to an announced window: any of its fields (DESIGN §4: partners are told). */
export class MaintenanceChangeDto {
  @ApiPropertyOptional({ example: '2026-12-06T23:00:00+01:00' })
  @IsOptional() @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date-time' })
  start?: string;

  @ApiPropertyOptional({ example: '2026-12-07T03:00:00+01:00' })
  @IsOptional() @IsISO8601({ strict: true }, { message: 'must be an ISO 8601 date-time' })
  end?: string;

  @ApiPropertyOptional({ example: 'Migration du serveur de bases de données, prolongée d\'une heure' })
  @IsOptional() @IsString() @MinLength(3) @MaxLength(500) @Matches(PLAIN_TEXT, { message: 'must be plain text' })
  reason?: string;
}

export interface MaintenanceWindow {
  id: string;
  starts_at: Date;
  ends_at: Date;
  reason: string;
  announced_at: Date;
}

const MAX_DURATION_MS = 7 * 86_400_000;
const RELOAD_MS = 5000;

/**
 * Planned maintenance windows: announced ahead by operators, kept in memory (reloaded every 5 s, and at once
 * on the instance that announces one) so that the lookup path asks "in maintenance now?" without a query.
 */
@Injectable()
export class MaintenanceCalendar implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(MaintenanceCalendar.name);
  private readonly outage = new OutageLog(this.logger, 'maintenance windows reload');
  private windows: MaintenanceWindow[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly db: Database, private readonly actions: ActionLog, private readonly clock: Clock,
    private readonly outbox: NotificationsOutbox) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => this.reload().then(() => this.outage.succeeded(), (error) => this.outage.failed(error)), RELOAD_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The window in force at `now`, if any. */
  activeAt(now: Date): MaintenanceWindow | undefined {
    const at = now.getTime();
    return this.windows.find((window) => window.starts_at.getTime() <= at && at < window.ends_at.getTime());
  }

  /** Windows in force or to come. */
  upcoming(now: Date): MaintenanceWindow[] {
    return this.windows.filter((window) => window.ends_at > now);
  }

  async announce(input: MaintenanceWindowDto, actor: Actor & { type: 'operator' }): Promise<MaintenanceWindow> {
    const now = this.clock.now();
    const start = new Date(input.start);
    const end = new Date(input.end);
    checkWindow(start, end, now, true);
    const window = await this.db.transaction(async (tx) => {
      const created = (await this.db.one<MaintenanceWindow>(
        `INSERT INTO maintenance_windows (starts_at, ends_at, reason, announced_by, announced_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, starts_at, ends_at, reason, announced_at`, [start, end, input.reason, actor.operatorId, now], tx))!;
      await this.actions.record({ actor, action: 'maintenance.announced', targetType: 'maintenance_window', targetId: created.id,
        detail: { starts_at: start.toISOString(), ends_at: end.toISOString(), reason: input.reason }, at: now }, tx);
      await this.outbox.toActivePartners('maintenance.announced', { window_id: created.id, start: start.toISOString(), end: end.toISOString(),
        reason: input.reason, short_notice: start.getTime() - now.getTime() < 48 * 3600_000 }, tx);
      return created;
    });
    await this.reload();
    return window;
  }

  /**
   * Moves, extends, shortens or re-words a window that has not ended (maintenance.changed to every active partner,
   * in the same transaction). A window that has begun keeps its start: only its end (not before now) and reason change.
   */
  async change(id: string, input: MaintenanceChangeDto, actor: Actor & { type: 'operator' }): Promise<MaintenanceWindow> {
    const now = this.clock.now();
    if (input.start === undefined && input.end === undefined && input.reason === undefined) {
      throw new ValidationFailed([{ field: 'start', reason: 'give at least one of start, end, reason' }]);
    }
    const window = await this.db.transaction(async (tx) => {
      const found = await this.lockOpen(id, tx);
      if (found.ends_at <= now) throw new Conflict('maintenance_over', 'This maintenance window is over: it can no longer be changed.');
      const started = found.starts_at <= now;
      const start = input.start === undefined ? found.starts_at : new Date(input.start);
      const end = input.end === undefined ? found.ends_at : new Date(input.end);
      if (started && start.getTime() !== found.starts_at.getTime()) {
        throw new ValidationFailed([{ field: 'start', reason: 'this window has begun: its start can no longer change' }]);
      }
      if (started && end < now) throw new ValidationFailed([{ field: 'end', reason: 'must not be in the past: cancel the window to end it now' }]);
      checkWindow(start, end, now, !started && start.getTime() !== found.starts_at.getTime());
      const reason = input.reason ?? found.reason;
      const changed = (await this.db.one<MaintenanceWindow>(
        `UPDATE maintenance_windows SET starts_at = $2, ends_at = $3, reason = $4 WHERE id = $1
         RETURNING id, starts_at, ends_at, reason, announced_at`, [found.id, start, end, reason], tx))!;
      const detail = { previous_start: found.starts_at.toISOString(), previous_end: found.ends_at.toISOString(), start: start.toISOString(),
        end: end.toISOString(), reason };
      await this.actions.record({ actor, action: 'maintenance.changed', targetType: 'maintenance_window', targetId: found.id, detail, at: now }, tx);
      await this.outbox.toActivePartners('maintenance.changed', { window_id: found.id, ...detail,
        short_notice: !started && start.getTime() - now.getTime() < 48 * 3600_000 }, tx);
      return changed;
    });
    await this.reload();
    return window;
  }

  /**
   * Cancels a window that has not ended (DESIGN §4): one to come never happens; one running ends now (the reports
   * count it up to now). Every active partner's contacts are told, in the same transaction.
   */
  async cancel(id: string, actor: Actor & { type: 'operator' }): Promise<MaintenanceWindow> {
    const now = this.clock.now();
    const window = await this.db.transaction(async (tx) => {
      const found = await this.lockOpen(id, tx);
      if (found.ends_at <= now) throw new Conflict('maintenance_over', 'This maintenance window is over: it can no longer be cancelled.');
      await this.db.rows('UPDATE maintenance_windows SET cancelled_at = $2 WHERE id = $1', [id, now], tx);
      await this.actions.record({ actor, action: 'maintenance.cancelled', targetType: 'maintenance_window', targetId: id,
        detail: { starts_at: found.starts_at.toISOString(), ends_at: found.ends_at.toISOString(), started: found.starts_at <= now }, at: now }, tx);
      await this.outbox.toActivePartners('maintenance.cancelled', { window_id: id, start: found.starts_at.toISOString(),
        end: found.ends_at.toISOString(), started: found.starts_at <= now }, tx);
      return found;
    });
    await this.reload();
    return window;
  }

  private async lockOpen(id: string, tx: Transaction): Promise<MaintenanceWindow> {
    const found = isUuid(id) ? await this.db.one<MaintenanceWindow>(
      `SELECT id, starts_at, ends_at, reason, announced_at FROM maintenance_windows WHERE id = $1 AND cancelled_at IS NULL FOR UPDATE`,
      [id], tx) : undefined;
    if (!found) throw new NotFound('No such maintenance window (or it was cancelled already).');
    return found;
  }

  list(): Promise<MaintenanceWindow[]> {
    return this.db.rows<MaintenanceWindow>(
      `SELECT id, starts_at, ends_at, reason, announced_at FROM maintenance_windows WHERE cancelled_at IS NULL
       ORDER BY starts_at DESC LIMIT 500`);
  }

  private async reload(): Promise<void> {
    this.windows = await this.db.rows<MaintenanceWindow>(
      `SELECT id, starts_at, ends_at, reason, announced_at FROM maintenance_windows
       WHERE cancelled_at IS NULL AND ends_at > now() - interval '1 day' ORDER BY starts_at`);
  }
}

/** A window starts ahead (unless it is not moving), ends after it starts, and lasts at most 7 days. */
function checkWindow(start: Date, end: Date, now: Date, startMoves: boolean): void {
  const errors = [];
  if (startMoves && start < now) errors.push({ field: 'start', reason: 'must not be in the past: maintenance is announced ahead' });
  if (end <= start) errors.push({ field: 'end', reason: 'must be after start' });
  else if (end.getTime() - start.getTime() > MAX_DURATION_MS) errors.push({ field: 'end', reason: 'a window lasts at most 7 days' });
  if (errors.length) throw new ValidationFailed(errors);
}
