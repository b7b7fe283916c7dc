import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';
import { AccessRequestDto, OrganisationType } from './access-request.dto';

export type AccessRequestStatus = 'pending' | 'changes_requested' | 'approved' | 'rejected';

export interface AccessRequestMessage {
  author: 'operator' | 'applicant';
  message: string;
  created_at: Date;
}

export interface AccessRequest {
  id: string;
  status: AccessRequestStatus;
  organisation: { name: string; siret: string; type: OrganisationType };
  contact: { name: string; email: string };
  technical_contact: { name: string; email: string };
  legal_basis: string;
  purpose: string;
  scopes: string[];
  retention_months: number;
  expected_daily_volume: number;
  recipients: string[];
  terms_version: string;
  created_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decision_note: string | null;
  partner_id: string | null;
}

const COLUMNS = `id, status, json_build_object('name', organisation_name, 'siret', siret, 'type', organisation_type) AS organisation, contact,
  technical_contact, legal_basis, purpose, scopes, retention_months, expected_daily_volume, recipients,
  terms_version, created_at, decided_at, decided_by, decision_note, partner_id`;

@Injectable()
export class AccessRequestsRepository {
  constructor(private readonly db: Database) {}

  async create(request: AccessRequestDto, now: Date, trackingTokenHash: Buffer, tx?: Transaction): Promise<AccessRequest> {
    const row = await this.db.one<AccessRequest>(
      `INSERT INTO access_requests (organisation_name, siret, contact, technical_contact, legal_basis, purpose, scopes,
         retention_months, expected_daily_volume, recipients, terms_version, created_at, organisation_type, tracking_token_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${COLUMNS}`,
      [request.organisation.name, request.organisation.siret,
        { name: request.contact.name, email: request.contact.email },
        { name: request.technicalContact.name, email: request.technicalContact.email },
        request.legalBasis, request.purpose, request.scopes, request.retentionMonths, request.expectedDailyVolume,
        request.recipients, request.termsVersion, now, request.organisation.type ?? 'autre', trackingTokenHash], tx);
    return row!;
  }

  findById(id: string, tx?: Transaction, forUpdate = false): Promise<AccessRequest | undefined> {
    return this.db.one<AccessRequest>(
      `SELECT ${COLUMNS} FROM access_requests WHERE id = $1 ${forUpdate ? 'FOR UPDATE' : ''}`, [id], tx);
  }

  list(status: AccessRequestStatus | undefined, limit = 500, offset = 0): Promise<AccessRequest[]> {
    return this.db.rows<AccessRequest>(
      `SELECT ${COLUMNS} FROM access_requests WHERE ($1::text IS NULL OR status = $1)
       ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, [status ?? null, limit, offset]);
  }

  async markDecided(id: string, decision: { status: AccessRequestStatus; operatorId: string | null; note: string | null;
    partnerId: string | null; at: Date }, tx: Transaction): Promise<AccessRequest> {
    const row = await this.db.one<AccessRequest>(
      `UPDATE access_requests SET status = $2, decided_by = $3, decision_note = $4, partner_id = $5, decided_at = $6
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, decision.status, decision.operatorId, decision.note, decision.partnerId, decision.at], tx);
    return row!;
  }

  /** The request whose tracking token hashes to this, if the id matches. */
  findByTrackingToken(id: string, tokenHash: Buffer, tx?: Transaction, forUpdate = false): Promise<AccessRequest | undefined> {
    return this.db.one<AccessRequest>(`SELECT ${COLUMNS} FROM access_requests WHERE id = $1 AND tracking_token_hash = $2 ${forUpdate ? 'FOR UPDATE' : ''}`,
      [id, tokenHash], tx);
  }

  /** The applicant's amended request: its fields replaced, and back in the queue. */
  async amend(id: string, request: AccessRequestDto, tx: Transaction): Promise<AccessRequest> {
    return (await this.db.one<AccessRequest>(
      `UPDATE access_requests SET organisation_name = $2, siret = $3, contact = $4, technical_contact = $5, legal_basis = $6, purpose = $7,
         scopes = $8, retention_months = $9, expected_daily_volume = $10, recipients = $11, terms_version = $12, organisation_type = $13,
         status = 'pending' WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, request.organisation.name, request.organisation.siret, { name: request.contact.name, email: request.contact.email },
        { name: request.technicalContact.name, email: request.technicalContact.email }, request.legalBasis, request.purpose, request.scopes,
        request.retentionMonths, request.expectedDailyVolume, request.recipients, request.termsVersion, request.organisation.type ?? 'autre'], tx))!;
  }

  async setStatus(id: string, status: AccessRequestStatus, tx: Transaction): Promise<void> {
    await this.db.rows('UPDATE access_requests SET status = $2 WHERE id = $1', [id, status], tx);
  }

  async addMessage(id: string, author: 'operator' | 'applicant', operatorId: string | null, message: string, at: Date, tx: Transaction): Promise<void> {
    await this.db.rows(`INSERT INTO access_request_messages (access_request_id, author, operator_id, message, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [id, author, operatorId, message, at], tx);
  }

  messages(id: string): Promise<AccessRequestMessage[]> {
    return this.db.rows<AccessRequestMessage>(
      'SELECT author, message, created_at FROM access_request_messages WHERE access_request_id = $1 ORDER BY seq', [id]);
  }
}
