import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTransport, Transporter } from 'nodemailer';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { LeasedSender } from './leased-sender';
import { renderNotification } from './templates';

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
export class NotificationDelivery extends LeasedSender<DueMessage> {
  protected readonly logger = new Logger(NotificationDelivery.name);
  private readonly transport: Transporter;

  constructor(db: Database, clock: Clock, adapterHost: HttpAdapterHost, @Inject(APP_CONFIG) config: AppConfig) {
    super(db, clock, adapterHost, config, { table: 'notifications', columns: 'type, recipient, data', doneStatus: 'sent', doneAt: 'sent_at' });
    this.transport = config.notifications.smtpUrl
      ? createTransport(config.notifications.smtpUrl)
      : createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  }

  override async onModuleDestroy(): Promise<void> {
    await super.onModuleDestroy();
    this.transport.close();
  }

  protected nextAttempt(_message: DueMessage, attempts: number): Date | undefined {
    return attempts >= MAX_ATTEMPTS ? undefined : new Date(this.clock.now().getTime() + backoffMs(attempts));
  }

  protected async send(message: DueMessage): Promise<void> {
    const { subject, text, html } = renderNotification(message.type, message.data, this.config.notifications.statusUrl);
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
  }
}
