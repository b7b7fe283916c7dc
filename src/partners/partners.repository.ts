import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import type { OrganisationType } from './access-request.dto';

export type PartnerStatus = 'active' | 'suspended' | 'revoked' | 'left';

export interface Partner {
  id: string;
  access_request_id: string;
  name: string;
  siret: string;
  organisation_type: OrganisationType;
  scopes: string[];
  recipients: string[];
  rate_limit_per_second: number;
  client_id: string;
  status: PartnerStatus;
  status_reason: string | null;
  status_changed_at: Date;
  disengagement_requested_at: Date | null;
  disengagement_effective_at: Date | null;
  disengagement_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewPartner {
  accessRequestId: string;
  name: string;
  siret: string;
  organisationType: OrganisationType;
  scopes: string[];
  recipients: string[];
  rateLimitPerSecond: number;
  clientId: string;
  at: Date;
}

const COLUMNS = `id, access_request_id, name, siret, organisation_type, scopes, recipients, rate_limit_per_second, client_id, status,
  status_reason, status_changed_at, disengagement_requested_at, disengagement_effective_at, disengagement_reason,
  created_at, updated_at`;

@Injectable()
export class PartnersRepository {
  constructor(private readonly db: Database) {}

  async create(partner: NewPartner, tx: Transaction): Promise<Partner> {
    const row = await this.db.one<Partner>(
      `INSERT INTO partners (access_request_id, name, siret, scopes, recipients, rate_limit_per_second, client_id,
         status_changed_at, created_at, updated_at, organisation_type)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, $9) RETURNING ${COLUMNS}`,
      [partner.accessRequestId, partner.name, partner.siret, partner.scopes, partner.recipients,
        partner.rateLimitPerSecond, partner.clientId, partner.at, partner.organisationType], tx);
    return row!;
  }

  findById(id: string, tx?: Transaction, forUpdate = false): Promise<Partner | undefined> {
    return this.db.one<Partner>(`SELECT ${COLUMNS} FROM partners WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id], tx);
  }

  findByClientId(clientId: string): Promise<Partner | undefined> {
    return this.db.one<Partner>(`SELECT ${COLUMNS} FROM partners WHERE client_id = $1`, [clientId]);
  }

  list(): Promise<Partner[]> {
    return this.db.rows<Partner>(`SELECT ${COLUMNS} FROM partners ORDER BY created_at DESC, id`);
  }

  async setStatus(id: string, status: PartnerStatus, reason: string, at: Date, tx: Transaction): Promise<Partner> {
    const row = await this.db.one<Partner>(
      `UPDATE partners SET status = $2, status_reason = $3, status_changed_at = $4, updated_at = $4,
         disengagement_requested_at = CASE WHEN $2 IN ('revoked', 'left') THEN NULL ELSE disengagement_requested_at END,
         disengagement_effective_at = CASE WHEN $2 IN ('revoked', 'left') THEN NULL ELSE disengagement_effective_at END
       WHERE id = $1 RETURNING ${COLUMNS}`, [id, status, reason, at], tx);
    return row!;
  }

  async setDisengagement(id: string, disengagement: { requestedAt: Date; effectiveAt: Date; reason: string } | null,
    at: Date, tx: Transaction): Promise<Partner> {
    const row = await this.db.one<Partner>(
      `UPDATE partners SET disengagement_requested_at = $2, disengagement_effective_at = $3, disengagement_reason = $4,
         disengagement_reminded_at = NULL, updated_at = $5 WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, disengagement?.requestedAt ?? null, disengagement?.effectiveAt ?? null, disengagement?.reason ?? null, at], tx);
    return row!;
  }

  /** Marks the partners whose departure is `withinMs` away and not reminded yet as reminded; answers them. */
  markDisengagementReminders(now: Date, withinMs: number, tx: Transaction): Promise<{ id: string; disengagement_effective_at: Date }[]> {
    return this.db.rows(
      `UPDATE partners SET disengagement_reminded_at = $1 WHERE disengagement_reminded_at IS NULL AND status IN ('active', 'suspended')
         AND disengagement_effective_at > $1 AND disengagement_effective_at <= $2 RETURNING id, disengagement_effective_at`,
      [now, new Date(now.getTime() + withinMs)], tx);
  }

  /** Partners whose disengagement notice has run out and who have not left yet. */
  dueDisengagements(now: Date, tx: Transaction): Promise<Partner[]> {
    return this.db.rows<Partner>(
      `SELECT ${COLUMNS} FROM partners WHERE disengagement_effective_at <= $1 AND status IN ('active', 'suspended')
       ORDER BY disengagement_effective_at FOR UPDATE SKIP LOCKED`, [now], tx);
  }
}
