import { Injectable } from '@nestjs/common';
import { Database } from '../common/database/database';

export interface OutboxMessage {
  id: string;
  type: string;
  partner_id: string | null;
  partner_name: string | null;
  recipient: string;
  created_at: Date;
  status: 'pending' | 'sent' | 'failed';
}

/** The notifications outbox (DESIGN §4), as operators read it: one row per message per recipient contact. */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly db: Database) {}

  list(filter: { partnerId?: string; status?: string; limit?: number; offset?: number } = {}): Promise<OutboxMessage[]> {
    return this.db.rows<OutboxMessage>(
      `SELECT n.id, n.type, n.partner_id, p.name AS partner_name, n.recipient, n.created_at, n.status
       FROM notifications n LEFT JOIN partners p ON p.id = n.partner_id
       WHERE ($1::uuid IS NULL OR n.partner_id = $1) AND ($2::text IS NULL OR n.status = $2)
       ORDER BY n.created_at DESC, n.id LIMIT $3 OFFSET $4`, [filter.partnerId ?? null, filter.status ?? null, filter.limit ?? 500, filter.offset ?? 0]);
  }
}
