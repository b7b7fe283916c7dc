import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { AuditQueue } from './audit-queue';

/** Who did an action: a DINSIC operator, a partner (self-service) or the gateway itself (scheduler). */
export type Actor =
  | { type: 'operator'; operatorId: string }
  | { type: 'partner'; partnerId: string }
  | { type: 'system' }
  /** Whoever holds an access request's tracking token (no account yet). */
  | { type: 'applicant' };

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
      `SELECT s.seq, e.occurred_at, e.detail->>'actor_type' AS actor_type, e.operator_id, e.partner_id, e.action, e.target, e.detail
       FROM audit_entries e LEFT JOIN audit_seals s ON s.entry_id = e.id
       WHERE e.kind = 'action' AND ($1::uuid IS NULL OR e.partner_id = $1)
       ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2`,
      [filter.partnerId ?? null, filter.limit ?? 500]);
  }
}
