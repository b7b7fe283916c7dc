import { Injectable } from '@nestjs/common';
import { Database } from '../common/database/database';
import { ValidationFailed } from '../common/errors/domain-errors';

export interface OutboxMessage {
  id: string;
  type: string;
  partner_id: string | null;
  partner_name: string | null;
  recipient: string;
  created_at: Date;
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  sent_at: Date | null;
  last_error: string | null;
}

const COLUMNS = `n.id, n.type, n.partner_id, p.name AS partner_name, n.recipient, n.created_at, n.status, n.attempts, n.sent_at, n.last_error`;

/** The notifications outbox (DESIGN §4) as operators and partners read it: one row per message per recipient contact. */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly db: Database) {}

  list(filter: { partnerId?: string; status?: string; limit?: number; offset?: number } = {}): Promise<OutboxMessage[]> {
    return this.db.rows<OutboxMessage>(
      `SELECT ${COLUMNS} FROM notifications n LEFT JOIN partners p ON p.id = n.partner_id
       WHERE ($1::uuid IS NULL OR n.partner_id = $1 OR n.access_request_id = (SELECT access_request_id FROM partners WHERE id = $1))
         AND ($2::text IS NULL OR n.status = $2)
       ORDER BY n.created_at DESC, n.id LIMIT $3 OFFSET $4`, [filter.partnerId ?? null, filter.status ?? null, filter.limit ?? 500, filter.offset ?? 0]);
  }

  /** A partner's own messages (its access request's included), newest first, by cursor (GET /v1/me/notifications). */
  async forPartner(partnerId: string, cursor: string | undefined, limit = 100) {
    let after: [Date, string] | undefined;
    if (cursor !== undefined) {
      const match = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
      if (!match) throw new ValidationFailed([{ field: 'cursor', reason: 'is not a cursor this API gave' }]);
      after = [new Date(match[1]), match[2]];
    }
    const rows = await this.db.rows<OutboxMessage & { data: Record<string, unknown> }>(
      `SELECT ${COLUMNS}, n.data FROM notifications n LEFT JOIN partners p ON p.id = n.partner_id
       WHERE (n.partner_id = $1 OR n.access_request_id = (SELECT access_request_id FROM partners WHERE id = $1))
         AND ($2::timestamptz IS NULL OR (n.created_at, n.id) < ($2, $3::uuid))
       ORDER BY n.created_at DESC, n.id DESC LIMIT $4`, [partnerId, after?.[0] ?? null, after?.[1] ?? null, limit + 1]);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      notifications: page.map(({ partner_name: _name, partner_id: _partner, last_error: _error, ...message }) => message),
      next_cursor: rows.length > limit ? Buffer.from(`${last.created_at.toISOString()}|${last.id}`).toString('base64url') : null,
    };
  }
}
