import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CheckpointBroadcast } from './checkpoint-broadcast';
import { NotificationDelivery } from './delivery';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsOutbox } from './outbox';
import { WebhookDelivery, WebhookRegistry } from './webhooks';

/**
 * Messages to partners' contacts (DESIGN §4): the outbox that every event writes into its own transaction, the
 * delivery workers (e-mail and webhooks), and the outbox as operators and partners read it. It depends on the database, and on the audit trail for its checkpoints.
 */
@Module({
  imports: [AuditModule],
  providers: [NotificationsOutbox, NotificationDelivery, NotificationsRepository, CheckpointBroadcast, WebhookRegistry, WebhookDelivery],
  exports: [NotificationsOutbox, NotificationDelivery, NotificationsRepository, CheckpointBroadcast, WebhookRegistry, WebhookDelivery],
})
export class NotificationsModule {}
