import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActionLog, Actor } from '../audit/action-log';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { isUuid } from '../common/ids';
import { Database, Transaction } from '../common/database/database';
import { NotificationsOutbox, NotificationType } from '../notifications/outbox';
import { Conflict, NotFound } from '../common/errors/domain-errors';
import { CredentialsService } from './credentials.service';
import { PartnerDirectory } from './partner-directory';
import { Partner, PartnersRepository, PartnerStatus } from './partners.repository';

/** The notice a partner gives to leave, set by the terms of use. */
export const DISENGAGEMENT_NOTICE_DAYS = 15;
/** The contacts are reminded this many days before a departure takes effect. */
const DISENGAGEMENT_REMINDER_DAYS = 3;

export function presentPartner(partner: Partner) {
  return {
    id: partner.id,
    name: partner.name,
    siret: partner.siret,
    organisation_type: partner.organisation_type,
    status: partner.status,
    status_reason: partner.status_reason,
    status_changed_at: partner.status_changed_at,
    scopes: partner.scopes,
    recipients: partner.recipients,
    rate_limit_per_second: partner.rate_limit_per_second,
    client_id: partner.client_id,
    access_request_id: partner.access_request_id,
    disengagement: partner.disengagement_effective_at
      ? { requested_at: partner.disengagement_requested_at, effective_at: partner.disengagement_effective_at,
        reason: partner.disengagement_reason }
      : null,
    created_at: partner.created_at,
  };
}

type Transition = { action: string; from: PartnerStatus[]; to: PartnerStatus };

const SUSPEND: Transition = { action: 'partner.suspended', from: ['active'], to: 'suspended' };
const REACTIVATE: Transition = { action: 'partner.reactivated', from: ['suspended'], to: 'active' };
const REVOKE: Transition = { action: 'partner.revoked', from: ['active', 'suspended'], to: 'revoked' };

/**
 * A partner's life: suspension, reactivation and revocation by DINSIC (immediate), disengagement by the
 * partner (15 days' notice), credential rotation. Every change is recorded with who made it and why.
 */
@Injectable()
export class PartnersService {
  private readonly logger = new Logger(PartnersService.name);

  constructor(
    private readonly partners: PartnersRepository,
    private readonly credentials: CredentialsService,
    private readonly directory: PartnerDirectory,
    private readonly actions: ActionLog,
    private readonly db: Database,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: NotificationsOutbox,
  ) {}

  list(): Promise<Partner[]> {
    return this.partners.list();
  }

  async get(id: string): Promise<Partner> {
    const partner = isUuid(id) ? await this.partners.findById(id) : undefined;
    if (!partner) throw new NotFound('No such partner.');
    return partner;
  }

  suspend(id: string, reason: string, actor: Actor): Promise<Partner> {
    return this.transition(id, SUSPEND, reason, actor);
  }

  reactivate(id: string, reason: string, actor: Actor): Promise<Partner> {
    return this.transition(id, REACTIVATE, reason, actor);
  }

  revoke(id: string, reason: string, actor: Actor): Promise<Partner> {
    return this.transition(id, REVOKE, reason, actor, async (partner, now, tx) =>
      this.credentials.expireSecrets(partner.id, now, tx));
  }

  /** Issues a new secret; the previous ones keep working for CREDENTIAL_GRACE_SECONDS. */
  async rotateCredentials(id: string, actor: Actor) {
    const now = this.clock.now();
    const graceUntil = new Date(now.getTime() + this.config.credentialGraceSeconds * 1000);
    return this.db.transaction(async (tx) => {
      const partner = await this.lock(id, tx);
      if (partner.status === 'revoked' || partner.status === 'left') {
        throw new Conflict('partner_closed', `The partner is ${partner.status}; its credentials cannot be rotated.`);
      }
      await this.credentials.expireSecrets(partner.id, graceUntil, tx);
      const secret = await this.credentials.issueSecret(partner.id, tx);
      await this.actions.record({ actor, action: 'partner.credentials_rotated', targetType: 'partner',
        targetId: partner.id, partnerId: partner.id,
        detail: { previous_secret_valid_until: graceUntil.toISOString() }, at: now }, tx);
      await this.outbox.toPartner('credentials.rotated', partner.id, { client_id: partner.client_id,
        previous_secret_valid_until: graceUntil.toISOString() }, tx);
      return { client_id: partner.client_id, client_secret: secret, previous_secret_valid_until: graceUntil };
    });
  }

  /** The partner gives notice; it leaves DISENGAGEMENT_NOTICE_DAYS later unless it cancels. */
  async requestDisengagement(partnerId: string, reason: string): Promise<Partner> {
    const now = this.clock.now();
    const effectiveAt = new Date(now.getTime() + DISENGAGEMENT_NOTICE_DAYS * 86_400_000);
    return this.db.transaction(async (tx) => {
      const partner = await this.lock(partnerId, tx);
      if (partner.disengagement_effective_at) {
        throw new Conflict('disengagement_pending',
          `A disengagement is already pending, effective ${partner.disengagement_effective_at.toISOString()}.`);
      }
      const updated = await this.partners.setDisengagement(partner.id, { requestedAt: now, effectiveAt, reason }, now, tx);
      await this.actions.record({ actor: { type: 'partner', partnerId }, action: 'partner.disengagement_requested',
        targetType: 'partner', targetId: partnerId, detail: { reason, effective_at: effectiveAt.toISOString() }, at: now }, tx);
      await this.outbox.toPartner('disengagement.requested', partnerId, { effective_at: effectiveAt.toISOString() }, tx);
      return updated;
    });
  }

  async cancelDisengagement(partnerId: string): Promise<Partner> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const partner = await this.lock(partnerId, tx);
      if (!partner.disengagement_effective_at) {
        throw new NotFound('No disengagement is pending.');
      }
      const updated = await this.partners.setDisengagement(partner.id, null, now, tx);
      await this.actions.record({ actor: { type: 'partner', partnerId }, action: 'partner.disengagement_cancelled',
        targetType: 'partner', targetId: partnerId, at: now }, tx);
      return updated;
    });
  }

  /** Reminds the partners whose departure is 3 days away, once each (run by the scheduler; safe on several instances). */
  async remindDisengagements(): Promise<number> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const due = await this.partners.markDisengagementReminders(now, DISENGAGEMENT_REMINDER_DAYS * 86_400_000, tx);
      for (const partner of due) {
        await this.outbox.toPartner('disengagement.reminder', partner.id, { effective_at: partner.disengagement_effective_at.toISOString() }, tx);
      }
      return due.length;
    });
  }

  /** Applies every disengagement whose notice has run out (run by the scheduler; safe on several instances). */
  async applyDueDisengagements(): Promise<string[]> {
    const now = this.clock.now();
    const left = await this.db.transaction(async (tx) => {
      const due = await this.partners.dueDisengagements(now, tx);
      for (const partner of due) {
        await this.partners.setStatus(partner.id, 'left', 'disengagement', now, tx);
        await this.credentials.expireSecrets(partner.id, now, tx);
        await this.actions.record({ actor: { type: 'system' }, action: 'partner.left', targetType: 'partner',
          targetId: partner.id, partnerId: partner.id,
          detail: { requested_at: partner.disengagement_requested_at?.toISOString() }, at: now }, tx);
        await this.outbox.toPartner('disengagement.effective', partner.id, {}, tx);
      }
      return due.map((partner) => partner.id);
    });
    if (left.length > 0) {
      this.logger.log(`${left.length} partner(s) left after their disengagement notice`);
      await this.directory.reload();
    }
    return left;
  }

  private async transition(id: string, transition: Transition, reason: string, actor: Actor,
    sideEffect?: (partner: Partner, now: Date, tx: Transaction) => Promise<void>): Promise<Partner> {
    const now = this.clock.now();
    const updated = await this.db.transaction(async (tx) => {
      const partner = await this.lock(id, tx);
      if (!transition.from.includes(partner.status)) {
        throw new Conflict('invalid_transition', `A ${partner.status} partner cannot be ${transition.to === 'active' ? 'reactivated' : transition.to}.`);
      }
      const changed = await this.partners.setStatus(partner.id, transition.to, reason, now, tx);
      await sideEffect?.(partner, now, tx);
      await this.actions.record({ actor, action: transition.action, targetType: 'partner', targetId: partner.id,
        partnerId: partner.id, detail: { reason, from: partner.status }, at: now }, tx);
      await this.outbox.toPartner(transition.action as NotificationType, partner.id, { reason }, tx);
      return changed;
    });
    await this.directory.reload();
    return updated;
  }

  private async lock(id: string, tx: Transaction): Promise<Partner> {
    const partner = isUuid(id) ? await this.partners.findById(id, tx, true) : undefined;
    if (!partner) throw new NotFound('No such partner.');
    return partner;
  }
}
