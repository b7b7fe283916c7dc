import { Injectable } from '@nestjs/common';
import { ActionLog } from '../audit/action-log';
import { Clock } from '../common/clock';
import { Database } from '../common/database/database';

export interface Incident {
  id: string;
  partner_id: string;
  partner_name?: string;
  summary: string;
  detail: string;
  created_at: Date;
}

/** Difficulties partners report to DINSIC. */
@Injectable()
export class IncidentsService {
  constructor(private readonly db: Database, private readonly actions: ActionLog, private readonly clock: Clock) {}

  report(partnerId: string, summary: string, detail: string): Promise<Incident> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const incident = (await this.db.one<Incident>(
        `INSERT INTO incidents (partner_id, summary, detail, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id, partner_id, summary, detail, created_at`, [partnerId, summary, detail, now], tx))!;
      await this.actions.record({ actor: { type: 'partner', partnerId }, action: 'incident.reported',
        targetType: 'incident', targetId: incident.id, at: now }, tx);
      return incident;
    });
  }

  list(limit = 500, offset = 0): Promise<Incident[]> {
    return this.db.rows<Incident>(
      `SELECT i.id, i.partner_id, p.name AS partner_name, i.summary, i.detail, i.created_at
       FROM incidents i JOIN partners p ON p.id = i.partner_id ORDER BY i.created_at DESC, i.id LIMIT $1 OFFSET $2`, [limit, offset]);
  }
}
