import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTransport, Transporter } from 'nodemailer';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { OutageLog } from '../common/logging/outage-log';
import { renderNotification } from './templates';

const BATCH = 20;
const LEASE_SECONDS = 120;
const INTERVAL_MS = 5000;
/** Retries back off from 1 minute, doubling, for about a day; then the message is marked failed. */
const MAX_ATTEMPTS = 12;
const backoffMs = (attempts: number) => Math.min(60_000 * 2 ** (attempts - 1), 6 * 3600_000);

interface DueMessage {
  id: string;
  type: string;
  recipient: string;
  data: Record<string, unknown>;
  attempts: number;
}

/** The Message-ID of a notification: the same for every attempt, so that a repeated send is the same message. */
export const messageIdOf = (notificationId: string) => `<${notificationId}@api-droits-cnam.notifications>`;

/**
 * Sends the outbox (DESIGN §4): by SMTP (nodemailer) when SMTP_URL is set, else as .eml files under DATA_DIR/outbox
 * (one file per notification id, so the embedded default shows exactly what would be sent). Each instance leases a
 * batch (FOR UPDATE SKIP LOCKED), so two instances never send the same message; a crash between sending and marking
 * sends it again after the lease, with the same Message-ID. Failures are retried with backoff for about a day.
 */
@Injectable()
export class NotificationDelivery implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(NotificationDelivery.name);
  private readonly outage = new OutageLog(this.logger, 'notification delivery');
  private readonly transport: Transporter;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly db: Database, private readonly clock: Clock, private readonly adapterHost: HttpAdapterHost,
    @Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.transport = config.notifications.smtpUrl
      ? createTransport(config.notifications.smtpUrl)
      : createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  onApplicationBootstrap(): void {
    // Not in the CLI; and tests deliver when they choose (manual sealing means manual everything).
    if (!this.adapterHost.httpAdapter || this.config.audit.sealIntervalMs === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.deliverDue().then((n) => (this.outage.succeeded(), n), (error) => (this.outage.failed(error), 0))
        .finally(() => (this.running = undefined));
    }, INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.transport.close();
  }

  /** Sends what is due now (one leased batch at a time); answers how many were sent. */
  async deliverDue(): Promise<number> {
    let sent = 0;
    for (;;) {
      const batch = await this.db.rows<DueMessage>(
        `UPDATE notifications SET lease_until = now() + make_interval(secs => $3) WHERE id IN (
           SELECT id FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < now())
           ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, type, recipient, data, attempts`, [this.clock.now(), BATCH, LEASE_SECONDS]);
      for (const message of batch) if (await this.deliver(message)) sent++;
      if (batch.length < BATCH) return sent;
    }
  }

  private async deliver(message: DueMessage): Promise<boolean> {
    const { subject, text, html } = renderNotification(message.type, message.data, this.config.notifications.statusUrl);
    try {
      // The checkpoint itself travels as the JSON the API publishes, which `audit:verify --checkpoint` reads.
      const attachments = message.type === 'audit.checkpoint' && message.data.checkpoint
        ? [{ filename: `checkpoint-${String((message.data.checkpoint as { seq: unknown }).seq)}.json`, contentType: 'application/json',
          content: `${JSON.stringify(message.data.checkpoint, null, 2)}\n` }] : [];
      const info = await this.transport.sendMail({ from: this.config.notifications.from, to: message.recipient, subject, text, html,
        messageId: messageIdOf(message.id), headers: { 'X-Notification-Type': message.type }, attachments });
      if (!this.config.notifications.smtpUrl) {
        const folder = join(this.config.dataDir, 'outbox');
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, `${message.id}.eml`), info.message as Buffer);
      }
      await this.db.rows(`UPDATE notifications SET status = 'sent', sent_at = $2, lease_until = NULL, attempts = attempts + 1, last_error = NULL
        WHERE id = $1`, [message.id, this.clock.now()]);
      return true;
    } catch (error) {
      const attempts = message.attempts + 1;
      // The SMTP reply code when there is one (451, 550...), else the error's code: never its message.
      const code = String((error as { responseCode?: number }).responseCode ?? (error as { code?: string }).code ?? 'error');
      await this.db.rows(`UPDATE notifications SET attempts = $2::int, last_error = $3, lease_until = NULL, next_attempt_at = $4,
        status = CASE WHEN $2::int >= $5::int THEN 'failed' ELSE status END WHERE id = $1`,
      [message.id, attempts, code.slice(0, 100), new Date(this.clock.now().getTime() + backoffMs(attempts)), MAX_ATTEMPTS]);
      this.outage.failed(error);
      return false;
    }
  }
}
