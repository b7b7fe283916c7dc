import { Module } from '@nestjs/common';
import { NotificationDelivery } from './delivery';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsOutbox } from './outbox';

/**
 * Messages to partners' contacts (DESIGN §4): the outbox that every event writes into its own transaction, the
 * delivery worker, and the outbox as operators and partners read it. It depends on nothing but the database.
 */
@Module({
  providers: [NotificationsOutbox, NotificationDelivery, NotificationsRepository],
  exports: [NotificationsOutbox, NotificationDelivery, NotificationsRepository],
})
export class NotificationsModule {}
