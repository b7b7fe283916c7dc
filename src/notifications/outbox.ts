import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { Database, Transaction } from '../common/database/database';

/** Every kind of message (DESIGN §4 notifications). */
export const NOTIFICATION_TYPES = [
  'access_request.received', 'access_request.changes_requested', 'access_request.approved', 'access_request.rejected',
  'audit.checkpoint', 'terms.published', 'maintenance.announced', 'maintenance.changed', 'maintenance.cancelled',
  'disengagement.requested', 'disengagement.reminder', 'disengagement.effective',
  'partner.suspended', 'partner.reactivated', 'partner.revoked', 'credentials.expiring', 'credentials.rotated',
  'sla.report_published',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** The business and technical contacts of an access request, each address once. */
const CONTACTS = `LATERAL (SELECT DISTINCT lower(e) AS email FROM unnest(ARRAY[r.contact ->> 'email', r.technical_contact ->> 'email']) AS e
  WHERE e IS NOT NULL) c`;

/**
 * The notifications outbox (DESIGN §4): one row per message per recipient contact, always written in the transaction
 * of the event that causes it, so that an event is never without its messages nor a message without its event.
 * Delivery is NotificationDelivery's. Data carries what the message says about the partner or the service, never
 * anything about a looked-up person.
 */
@Injectable()
export class NotificationsOutbox {
  constructor(private readonly db: Database, private readonly clock: Clock) {}

  /** To a partner's contacts. */
  async toPartner(type: NotificationType, partnerId: string, data: Record<string, unknown>, tx: Transaction): Promise<number> {
    await this.toWebhooks('p.id = $2', [type, partnerId, data, this.clock.now()], tx);
    return (await this.db.rows(
      `INSERT INTO notifications (type, partner_id, access_request_id, recipient, data, created_at, next_attempt_at)
       SELECT $1, p.id, r.id, c.email, $3::jsonb || jsonb_build_object('partner', p.name), $4, $4
       FROM partners p JOIN access_requests r ON r.id = p.access_request_id, ${CONTACTS}
       WHERE p.id = $2 RETURNING id`, [type, partnerId, data, this.clock.now()], tx)).length;
  }

  /** To the contacts of every active partner (terms, maintenance, monthly reports). */
  async toActivePartners(type: NotificationType, data: Record<string, unknown>, tx: Transaction): Promise<number> {
    await this.toWebhooks("p.status = 'active' AND $2::text IS NULL", [type, null, data, this.clock.now()], tx);
    return (await this.db.rows(
      `INSERT INTO notifications (type, partner_id, access_request_id, recipient, data, created_at, next_attempt_at)
       SELECT $1, p.id, r.id, c.email, $2::jsonb || jsonb_build_object('partner', p.name), $3, $3
       FROM partners p JOIN access_requests r ON r.id = p.access_request_id, ${CONTACTS}
       WHERE p.status = 'active' RETURNING id`, [type, data, this.clock.now()], tx)).length;
  }

  /** To the contacts named in an access request (before a partner exists, or about its decision). */
  async toApplicant(type: NotificationType, accessRequestId: string, data: Record<string, unknown>, tx: Transaction): Promise<number> {
    await this.toWebhooks('p.access_request_id = $2', [type, accessRequestId, data, this.clock.now()], tx);
    return (await this.db.rows(
      `INSERT INTO notifications (type, partner_id, access_request_id, recipient, data, created_at, next_attempt_at)
       SELECT $1, r.partner_id, r.id, c.email, $3::jsonb || jsonb_build_object('partner', r.organisation_name), $4, $4
       FROM access_requests r, ${CONTACTS} WHERE r.id = $2 RETURNING id`,
    [type, accessRequestId, data, this.clock.now()], tx)).length;
  }

  /** The same event, once per partner that has a webhook (DESIGN §3.6): $1 type, $2 whom, $3 data, $4 now. */
  private async toWebhooks(which: string, params: unknown[], tx: Transaction): Promise<void> {
    await this.db.rows(
      `INSERT INTO webhook_events (partner_id, type, data, occurred_at, next_attempt_at)
       SELECT p.id, $1, $3::jsonb || jsonb_build_object('partner', p.name), $4, $4
       FROM partner_webhooks w JOIN partners p ON p.id = w.partner_id WHERE ${which}`, params, tx);
  }
}
