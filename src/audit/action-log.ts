import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';

/** Who did an action: a DINSIC operator, a partner (self-service) or the gateway itself (scheduler). */
export type Actor =
  | { type: 'operator'; operatorId: string }
  | { type: 'partner'; partnerId: string }
  | { type: 'system' };

export interface Action {
  actor: Actor;
  action: string;
  targetType: 'access_request' | 'partner' | 'terms' | 'operator' | 'signing_key' | 'incident' | 'maintenance_window';
  targetId?: string;
  partnerId?: string;
  detail?: Record<string, unknown>;
  at: Date;
}

export interface RecordedAction {
  id: string;
  occurred_at: Date;
  actor_type: Actor['type'];
  operator_id: string | null;
  partner_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  detail: Record<string, unknown>;
}

/**
 * Operator, partner and lifecycle actions, recorded in the same transaction as the change they describe.
 * Interim store (`operator_actions`) until the tamper-evident audit trail takes these entries over.
 * This module never updates or deletes an entry.
 */
@Injectable()
export class ActionLog {
  constructor(private readonly db: Database) {}

  async record(action: Action, tx?: Transaction): Promise<void> {
    const operatorId = action.actor.type === 'operator' ? action.actor.operatorId : null;
    const partnerId = action.partnerId ?? (action.actor.type === 'partner' ? action.actor.partnerId : null);
    await this.db.rows(
      `INSERT INTO operator_actions (occurred_at, actor_type, operator_id, partner_id, action, target_type, target_id, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [action.at, action.actor.type, operatorId, partnerId, action.action, action.targetType, action.targetId ?? null,
        action.detail ?? {}], tx);
  }

  list(filter: { partnerId?: string; limit?: number } = {}): Promise<RecordedAction[]> {
    return this.db.rows<RecordedAction>(
      `SELECT id::text, occurred_at, actor_type, operator_id, partner_id, action, target_type, target_id, detail
       FROM operator_actions WHERE ($1::uuid IS NULL OR partner_id = $1) ORDER BY id DESC LIMIT $2`,
      [filter.partnerId ?? null, filter.limit ?? 500]);
  }
}
