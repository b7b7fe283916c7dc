import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { Clock } from '../common/clock';
import { ValidationFailed } from '../common/errors/domain-errors';
import { checkNir, normaliseNir } from '../rights/nir';
import { ActionLog } from './action-log';
import { AuditService } from './audit.service';
import { ScheduledVerification } from './scheduled-verification';
import { SubjectRefs } from './subject-refs';

export const dateOf = (value?: string) => (value ? new Date(value) : undefined);

export interface AuditSearch {
  partner?: string;
  agent?: string;
  /** Pseudonymised here, as the trail stores it; never kept, logged or traced. */
  subject_nir?: string;
  /** An earlier search's pseudonym, to page through it without the NIR. */
  subject_ref?: string;
  kind?: 'lookup' | 'action' | 'probe';
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

/**
 * What auditors do with the trail (DESIGN §4), for the API and the console alike: each search, export and
 * verification is itself traced (who, what filters, never the NIR).
 */
@Injectable()
export class AuditorDesk {
  constructor(private readonly audit: AuditService, private readonly refs: SubjectRefs, private readonly actions: ActionLog,
    private readonly clock: Clock, private readonly scheduled: ScheduledVerification) {}

  /** The pseudonym of a NIR as the trail stores it; a NIR that is not valid is a field error. */
  subjectRefOf(nir: string, field = 'subject_nir'): string {
    const normalised = normaliseNir(nir);
    if (checkNir(normalised)) throw new ValidationFailed([{ field, reason: 'must be a valid NIR' }]);
    return this.refs.forNir(normalised);
  }

  async search(query: AuditSearch, operatorId: string) {
    const subjectRef = query.subject_nir !== undefined ? this.subjectRefOf(query.subject_nir) : query.subject_ref;
    await this.trace(operatorId, 'audit.searched', { partner: query.partner ?? null, agent: query.agent ?? null,
      by_subject: subjectRef !== undefined, from: query.from ?? null, to: query.to ?? null });
    const result = await this.audit.search({ partnerId: query.partner, agent: query.agent, subjectRef, kind: query.kind,
      from: dateOf(query.from), to: dateOf(query.to) }, query.cursor, query.limit);
    return { ...result, subjectRef };
  }

  async export(query: { partner?: string; from?: string; to?: string; format: 'ndjson' | 'csv' }, operatorId: string): Promise<Readable> {
    await this.trace(operatorId, 'audit.exported', { format: query.format, partner: query.partner ?? null, from: query.from ?? null,
      to: query.to ?? null });
    return this.audit.export({ partnerId: query.partner, from: dateOf(query.from), to: dateOf(query.to) }, query.format);
  }

  /** `clientWaits`: aborts when the client leaves, which cancels the verification (nothing traced then). */
  async verify(query: { from?: string; to?: string }, operatorId: string, clientWaits?: AbortSignal) {
    const result = await this.audit.verify(dateOf(query.from), dateOf(query.to), clientWaits);
    await this.trace(operatorId, 'audit.verified', { from: query.from ?? null, to: query.to ?? null, ok: result.ok });
    return result;
  }

  /**
   * Starts a verification of the whole trail in the background (the console: it may last minutes); false when one
   * is already running. Its result is stored with the scheduled ones (ScheduledVerification).
   */
  async startVerification(operatorId: string): Promise<boolean> {
    const started = await this.scheduled.runNow(operatorId);
    await this.trace(operatorId, 'audit.verification_started', { started });
    return started;
  }

  private trace(operatorId: string, action: string, detail: Record<string, unknown>): Promise<void> {
    return this.actions.record({ actor: { type: 'operator', operatorId }, action, targetType: 'audit', detail, at: this.clock.now() });
  }
}
