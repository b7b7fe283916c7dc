import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { ActionLog, Actor } from '../audit/action-log';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { isUuid } from '../common/ids';
import { Database } from '../common/database/database';
import { NotificationsOutbox } from '../notifications/outbox';
import { Conflict, NotFound, ValidationFailed } from '../common/errors/domain-errors';
import { AccessRequestDto, ApproveDto, ReasonDto } from './access-request.dto';
import { AccessRequest, AccessRequestsRepository, AccessRequestStatus } from './access-requests.repository';
import { CredentialsService } from './credentials.service';
import { PartnerDirectory } from './partner-directory';
import { PartnersRepository } from './partners.repository';
import { presentPartner } from './partners.service';
import { TermsRepository } from './terms.repository';

const tokenHash = (token: string) => createHash('sha256').update(token).digest();

/** Habilitation requests: submitted by an administration, approved (with scopes) or rejected by an operator. */
@Injectable()
export class AccessRequestsService {
  constructor(
    private readonly requests: AccessRequestsRepository,
    private readonly partners: PartnersRepository,
    private readonly terms: TermsRepository,
    private readonly credentials: CredentialsService,
    private readonly directory: PartnerDirectory,
    private readonly actions: ActionLog,
    private readonly db: Database,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: NotificationsOutbox,
  ) {}

  /** Records a request; answers it with its tracking token, shown this once (only its hash is kept). */
  async submit(request: AccessRequestDto): Promise<AccessRequest & { tracking_token: string; credentials?: { client_id: string; client_secret: string } }> {
    const now = this.clock.now();
    await this.checkTermsVersion(request, now);
    const trackingToken = randomBytes(32).toString('base64url');
    const created = await this.db.transaction(async (tx) => {
      const row = await this.requests.create(request, now, tokenHash(trackingToken), tx);
      await this.outbox.toApplicant('access_request.received', row.id, { access_request_id: row.id }, tx);
      return row;
    });
    if (!this.config.sandbox) return { ...created, tracking_token: trackingToken };
    // A sandbox approves at once, with the requested scopes, and hands the credentials over in this answer.
    const approved = await this.approve(created.id, { note: 'bac à sable : approuvée automatiquement' }, { type: 'system' });
    return { ...(await this.get(created.id)), tracking_token: trackingToken, ...approved };
  }

  /** The applicant's view of its request (GET /v1/access-requests/{id} with the tracking token): status and messages. */
  async track(id: string, trackingToken: string) {
    const found = await this.byTrackingToken(id, trackingToken);
    return { ...found, messages: await this.requests.messages(found.id) };
  }

  /** An operator asks for changes instead of rejecting: the applicant is told and may amend (DESIGN §4). */
  async requestChanges(id: string, message: string, actor: Actor & { type: 'operator' }): Promise<AccessRequest> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const request = await this.lockPending(id, tx);
      await this.requests.setStatus(request.id, 'changes_requested', tx);
      await this.requests.addMessage(request.id, 'operator', actor.operatorId, message, now, tx);
      await this.actions.record({ actor, action: 'access_request.changes_requested', targetType: 'access_request', targetId: request.id,
        detail: { message }, at: now }, tx);
      await this.outbox.toApplicant('access_request.changes_requested', request.id, { message }, tx);
      return { ...request, status: 'changes_requested' as const };
    });
  }

  /** The applicant amends a request that an operator sent back (PATCH /v1/access-requests/{id}): it is pending again. */
  async amend(id: string, trackingToken: string, amended: AccessRequestDto) {
    const now = this.clock.now();
    await this.checkTermsVersion(amended, now);
    return this.db.transaction(async (tx) => {
      const found = isUuid(id) ? await this.requests.findByTrackingToken(id, tokenHash(trackingToken), tx, true) : undefined;
      if (!found) throw new NotFound('No such access request (or not this tracking token).');
      if (found.status !== 'changes_requested') {
        throw new Conflict('request_not_amendable', `This access request is ${found.status}: it can be amended only when an operator asked for changes.`);
      }
      const updated = await this.requests.amend(found.id, amended, tx);
      await this.requests.addMessage(found.id, 'applicant', null, 'Demande modifiée par le demandeur.', now, tx);
      await this.actions.record({ actor: { type: 'applicant' }, action: 'access_request.amended', targetType: 'access_request',
        targetId: found.id, at: now }, tx);
      await this.outbox.toApplicant('access_request.received', found.id, { access_request_id: found.id, amended: true }, tx);
      return updated;
    });
  }

  messages(id: string) {
    return this.requests.messages(id);
  }

  private async byTrackingToken(id: string, trackingToken: string): Promise<AccessRequest> {
    const found = isUuid(id) ? await this.requests.findByTrackingToken(id, tokenHash(trackingToken)) : undefined;
    // The same answer for an unknown request and a wrong token: no oracle for ids.
    if (!found) throw new NotFound('No such access request (or not this tracking token).');
    return found;
  }

  private async checkTermsVersion(request: AccessRequestDto, now: Date): Promise<void> {
    const current = await this.terms.current(now);
    if (!current || request.termsVersion !== current.version) {
      throw new ValidationFailed([{ field: 'termsVersion',
        reason: `must be the current terms version (${current?.version ?? 'none'}); see GET /v1/terms/current` }]);
    }
  }

  list(status?: AccessRequestStatus, page: { limit?: number; offset?: number } = {}): Promise<AccessRequest[]> {
    return this.requests.list(status, page.limit, page.offset);
  }

  async get(id: string): Promise<AccessRequest> {
    const found = isUuid(id) ? await this.requests.findById(id) : undefined;
    if (!found) throw new NotFound('No such access request.');
    return found;
  }

  /** Approves a pending request: creates the partner and its first client secret, shown only in this answer. */
  async approve(id: string, decision: ApproveDto, actor: Actor & { type: 'operator' | 'system' }) {
    const now = this.clock.now();
    const result = await this.db.transaction(async (tx) => {
      const request = await this.lockPending(id, tx);
      const scopes = decision.scopes ?? request.scopes;
      const notRequested = scopes.filter((scope) => !request.scopes.includes(scope));
      if (notRequested.length > 0) {
        throw new ValidationFailed([{ field: 'scopes',
          reason: `may only narrow the requested scopes; not requested: ${notRequested.join(', ')}` }]);
      }
      const partner = await this.partners.create({
        accessRequestId: request.id, name: request.organisation.name, siret: request.organisation.siret,
        organisationType: decision.organisationType ?? request.organisation.type, scopes, recipients: request.recipients, clientId: this.credentials.newClientId(), at: now,
        rateLimitPerSecond: decision.rateLimitPerSecond ?? this.config.defaultRateLimitPerSecond,
      }, tx);
      const secret = await this.credentials.issueSecret(partner.id, tx);
      await this.requests.markDecided(request.id, { status: 'approved', operatorId: actor.type === 'operator' ? actor.operatorId : null,
        note: decision.note ?? null, partnerId: partner.id, at: now }, tx);
      await this.actions.record({ actor, action: 'access_request.approved', targetType: 'access_request',
        targetId: request.id, partnerId: partner.id,
        detail: { scopes, rate_limit_per_second: partner.rate_limit_per_second, organisation_type: partner.organisation_type,
          note: decision.note ?? null }, at: now }, tx);
      await this.outbox.toApplicant('access_request.approved', request.id, { scopes, client_id: partner.client_id }, tx);
      return { partner: presentPartner(partner), credentials: { client_id: partner.client_id, client_secret: secret } };
    });
    await this.directory.reload();
    return result;
  }

  async reject(id: string, decision: ReasonDto, actor: Actor & { type: 'operator' }): Promise<AccessRequest> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const request = await this.lockPending(id, tx);
      const rejected = await this.requests.markDecided(request.id, { status: 'rejected', operatorId: actor.operatorId,
        note: decision.reason, partnerId: null, at: now }, tx);
      await this.actions.record({ actor, action: 'access_request.rejected', targetType: 'access_request',
        targetId: request.id, detail: { reason: decision.reason }, at: now }, tx);
      await this.outbox.toApplicant('access_request.rejected', request.id, { reason: decision.reason }, tx);
      return rejected;
    });
  }

  private async lockPending(id: string, tx: Parameters<AccessRequestsRepository['findById']>[1]): Promise<AccessRequest> {
    const request = isUuid(id) ? await this.requests.findById(id, tx, true) : undefined;
    if (!request) throw new NotFound('No such access request.');
    if (request.status !== 'pending') {
      throw new Conflict('request_not_pending', `This access request is already ${request.status}.`);
    }
    return request;
  }
}
