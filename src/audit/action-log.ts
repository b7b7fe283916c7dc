import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { AuditQueue } from './audit-queue';

/** Who did an action: a DINSIC operator, a partner (self-service) or the gateway itself (scheduler). */
export type Actor =
  | { type: 'operator'; operatorId: string }
  | { type: 'partner'; partnerId: string }
  | { type: 'system' };

export interface Action {
  actor: Actor;
  action: string;
  targetType: 'access_request' | 'partner' | 'terms' | 'operator' | 'signing_key' | 'incident' | 'maintenance_window' | 'audit';
  targetId?: string;
  partnerId?: string;
  detail?: Record<string, unknown>;
  at: Date;
}

export interface RecordedAction {
  seq: string | null;
  occurred_at: Date;
  actor_type: Actor['type'];
  operator_id: string | null;
  partner_id: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

/**
 * Operator, partner and lifecycle actions, written into the audit trail in the same transaction as the change
 * they describe (so neither exists without the other). This module never updates or deletes an entry.
 */
@Injectable()
export class ActionLog {
  constructor(private readonly queue: AuditQueue, private readonly db: Database) {}

  record(action: Action, tx?: Transaction): Promise<void> {
    const partnerId = action.partnerId ?? (action.actor.type === 'partner' ? action.actor.partnerId : null);
    return this.queue.insert([{
      occurred_at: action.at, kind: 'action', outcome: 'ok',
      operator_id: action.actor.type === 'operator' ? action.actor.operatorId : null,
      partner_id: partnerId, action: action.action,
      target: action.targetType + (action.targetId ? `:${action.targetId}` : ''),
      detail: { ...action.detail, actor_type: action.actor.type },
    }], tx);
  }

  /** Recent actions, sealed or not yet, newest first. */
  list(filter: { partnerId?: string; limit?: number } = {}): Promise<RecordedAction[]> {
    return this.db.rows<RecordedAction>(
      `SELECT seq, occurred_at, detail->>'actor_type' AS actor_type, operator_id, partner_id, action, target, detail
       FROM (SELECT NULL::bigint AS seq, id AS ord, occurred_at, operator_id, partner_id, action, target, detail, kind FROM audit_queue
             UNION ALL
             SELECT seq, seq AS ord, occurred_at, operator_id, partner_id, action, target, detail, kind FROM audit_log) a
       WHERE kind = 'action' AND ($1::uuid IS NULL OR partner_id = $1)
       ORDER BY occurred_at DESC, seq DESC NULLS FIRST, ord DESC LIMIT $2`,
      [filter.partnerId ?? null, filter.limit ?? 500]);
  }
}
