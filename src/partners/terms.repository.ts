import { Injectable } from '@nestjs/common';
import { Database, Transaction } from '../common/database/database';

export interface TermsVersion {
  version: string;
  effective_at: Date;
  summary: string;
  text: string;
  published_at: Date;
}

const COLUMNS = 'version, effective_at, summary, text, published_at';

@Injectable()
export class TermsRepository {
  constructor(private readonly db: Database) {}

  /** The version in force at `now`: the latest one whose effective date has come. */
  current(now: Date): Promise<TermsVersion | undefined> {
    return this.db.one<TermsVersion>(
      `SELECT ${COLUMNS} FROM terms_versions WHERE effective_at <= $1 ORDER BY effective_at DESC LIMIT 1`, [now]);
  }

  /** Versions published but not yet in force, soonest first. */
  upcoming(now: Date): Promise<TermsVersion[]> {
    return this.db.rows<TermsVersion>(
      `SELECT ${COLUMNS} FROM terms_versions WHERE effective_at > $1 ORDER BY effective_at`, [now]);
  }

  find(version: string): Promise<TermsVersion | undefined> {
    return this.db.one<TermsVersion>(`SELECT ${COLUMNS} FROM terms_versions WHERE version = $1`, [version]);
  }

  list(): Promise<TermsVersion[]> {
    return this.db.rows<TermsVersion>(`SELECT ${COLUMNS} FROM terms_versions ORDER BY effective_at DESC`);
  }

  latest(tx: Transaction): Promise<TermsVersion | undefined> {
    return this.db.one<TermsVersion>(
      `SELECT ${COLUMNS} FROM terms_versions ORDER BY effective_at DESC LIMIT 1 FOR UPDATE`, [], tx);
  }

  async create(terms: { version: string; effectiveAt: Date; summary: string; text: string; publishedBy: string; at: Date },
    tx: Transaction): Promise<TermsVersion | undefined> {
    return this.db.one<TermsVersion>(
      `INSERT INTO terms_versions (version, effective_at, summary, text, published_by, published_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (version) DO NOTHING RETURNING ${COLUMNS}`,
      [terms.version, terms.effectiveAt, terms.summary, terms.text, terms.publishedBy, terms.at], tx);
  }

  /** Records an acceptance; true when it is new. */
  async accept(partnerId: string, version: string, at: Date, tx: Transaction): Promise<boolean> {
    const rows = await this.db.rows(
      `INSERT INTO terms_acceptances (partner_id, version, accepted_at) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING version`, [partnerId, version, at], tx);
    return rows.length > 0;
  }

  acceptedVersions(partnerId: string): Promise<{ version: string; accepted_at: Date }[]> {
    return this.db.rows(`SELECT version, accepted_at FROM terms_acceptances WHERE partner_id = $1`, [partnerId]);
  }

  acceptances(): Promise<{ version: string; partner_id: string; accepted_at: Date }[]> {
    return this.db.rows(`SELECT version, partner_id, accepted_at FROM terms_acceptances ORDER BY accepted_at`);
  }
}
