import { Injectable } from '@nestjs/common';
import { ActionLog, Actor } from '../audit/action-log';
import { Clock } from '../common/clock';
import { Database } from '../common/database/database';
import { NotificationsOutbox } from '../notifications/outbox';
import { Conflict, NotFound, ValidationFailed } from '../common/errors/domain-errors';
import { TermsRepository, TermsVersion } from './terms.repository';

export function presentTerms(terms: TermsVersion) {
  return { version: terms.version, effective_at: terms.effective_at, summary: terms.summary, text: terms.text,
    published_at: terms.published_at };
}

/** Terms-of-use versions: published ahead of their effective date, accepted by each partner. */
@Injectable()
export class TermsService {
  constructor(
    private readonly terms: TermsRepository,
    private readonly actions: ActionLog,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly outbox: NotificationsOutbox,
  ) {}

  async current(): Promise<TermsVersion> {
    const current = await this.terms.current(this.clock.now());
    if (!current) throw new NotFound('No terms of use are in force.');
    return current;
  }

  upcoming(): Promise<TermsVersion[]> {
    return this.terms.upcoming(this.clock.now());
  }

  async listWithAcceptances() {
    const [versions, acceptances, current] = await Promise.all([
      this.terms.list(), this.terms.acceptances(), this.terms.current(this.clock.now())]);
    return versions.map((terms) => ({
      ...presentTerms(terms),
      current: terms.version === current?.version,
      upcoming: terms.effective_at > this.clock.now(),
      acceptances: acceptances.filter((a) => a.version === terms.version)
        .map((a) => ({ partner_id: a.partner_id, accepted_at: a.accepted_at })),
    }));
  }

  /** Publishes a new version; it must take effect in the future, after every version already published. */
  async publish(input: { version: string; effectiveAt: string; summary: string; text?: string }, actor: Actor & { type: 'operator' }) {
    const now = this.clock.now();
    const effectiveAt = new Date(input.effectiveAt);
    if (effectiveAt <= now) {
      throw new ValidationFailed([{ field: 'effectiveAt', reason: 'must be in the future: partners are told ahead' }]);
    }
    return this.db.transaction(async (tx) => {
      const latest = await this.terms.latest(tx);
      if (latest && effectiveAt <= latest.effective_at) {
        throw new ValidationFailed([{ field: 'effectiveAt', reason: `must be after the effective date of version ${latest.version}` }]);
      }
      const created = await this.terms.create({ version: input.version, effectiveAt, summary: input.summary,
        text: input.text ?? input.summary, publishedBy: actor.operatorId, at: now }, tx);
      if (!created) throw new Conflict('terms_version_exists', `Terms version ${input.version} already exists.`);
      await this.actions.record({ actor, action: 'terms.published', targetType: 'terms', targetId: created.version,
        detail: { effective_at: created.effective_at.toISOString() }, at: now }, tx);
      await this.outbox.toActivePartners('terms.published', { version: created.version, effective_at: created.effective_at.toISOString(),
        summary: created.summary }, tx);
      return created;
    });
  }

  /** A partner accepts a version in force or announced; accepting twice is harmless. */
  async accept(partnerId: string, version: string) {
    const now = this.clock.now();
    const terms = await this.terms.find(version);
    const current = await this.terms.current(now);
    if (!terms || (current && terms.effective_at < current.effective_at)) {
      throw new ValidationFailed([{ field: 'version', reason: 'must be the current or an announced terms version' }]);
    }
    const isNew = await this.db.transaction(async (tx) => {
      const inserted = await this.terms.accept(partnerId, version, now, tx);
      if (inserted) {
        await this.actions.record({ actor: { type: 'partner', partnerId }, action: 'terms.accepted',
          targetType: 'terms', targetId: version, at: now }, tx);
      }
      return inserted;
    });
    return { version, accepted: true, newly_accepted: isNew };
  }

  /** The current version, whether the partner accepted it, and versions announced ahead. */
  async statusFor(partnerId: string) {
    const now = this.clock.now();
    const [current, upcoming, accepted] = await Promise.all([
      this.terms.current(now), this.terms.upcoming(now), this.terms.acceptedVersions(partnerId)]);
    const acceptedSet = new Set(accepted.map((a) => a.version));
    return {
      current_version: current?.version ?? null,
      accepted: current ? acceptedSet.has(current.version) : false,
      upcoming: upcoming.map((t) => ({ version: t.version, effective_at: t.effective_at, summary: t.summary,
        accepted: acceptedSet.has(t.version) })),
    };
  }
}
