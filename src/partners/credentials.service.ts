import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database, Transaction } from '../common/database/database';
import { NotificationsOutbox } from '../notifications/outbox';
import { decoyHash, hashSecret, verifySecret } from '../common/secret-hash';
import { CredentialsRepository, StoredSecret } from './credentials.repository';

const DAY_MS = 86_400_000;
/** Warnings before a secret expires, in days. */
export const EXPIRY_WARNINGS_DAYS = [90, 30, 7];
import { Partner, PartnersRepository } from './partners.repository';

/** Partners' client credentials: issued at approval and rotation, shown once, stored as scrypt hashes. */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly partners: PartnersRepository,
    private readonly clock: Clock,
    private readonly db: Database,
    private readonly outbox: NotificationsOutbox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** When a secret created at `createdAt` stops working (CREDENTIAL_EXPIRY_DAYS). */
  expiryOf(createdAt: Date): Date {
    return new Date(createdAt.getTime() + this.config.credentialExpiryDays * DAY_MS);
  }

  newClientId(): string {
    return `cnam-${randomBytes(12).toString('hex')}`;
  }

  /** Creates a new secret for the partner and returns it: the only time it exists in clear. */
  async issueSecret(partnerId: string, tx: Transaction): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    await this.credentials.add(partnerId, await hashSecret(secret), this.clock.now(), tx);
    return secret;
  }

  /** Ends every current secret at `until` (rotation grace period, or now on revocation). */
  expireSecrets(partnerId: string, until: Date, tx: Transaction): Promise<void> {
    return this.credentials.expireAll(partnerId, until, tx);
  }

  /**
   * The partner these credentials belong to, or undefined; `expiredAt` when the secret is right but past its
   * lifetime (the partner must be told so, not just "wrong secret"). Unknown clients cost one scrypt like known
   * ones, so that timing does not tell which client ids exist.
   */
  async authenticate(clientId: string, secret: string): Promise<{ partner: Partner; expiredAt?: Date } | undefined> {
    const partner = clientId.length <= 64 ? await this.partners.findByClientId(clientId) : undefined;
    const now = this.clock.now();
    const stored = partner ? await this.credentials.usable(partner.id, now) : [];
    if (!partner || stored.length === 0) {
      await verifySecret(secret, await decoyHash());
      return undefined;
    }
    let matched: StoredSecret | undefined;
    for (const candidate of stored) {
      if (await verifySecret(secret, candidate.secret_hash)) matched = candidate;
    }
    if (!matched) return undefined;
    const expiry = this.expiryOf(matched.created_at);
    return expiry <= now ? { partner, expiredAt: expiry } : { partner };
  }

  /**
   * Warns the contacts of every active partner whose current secret expires within 90, 30 or 7 days: one message
   * per threshold reached, each sent once (a row per secret and threshold; several instances may run this).
   */
  async warnExpiringSecrets(): Promise<number> {
    const now = this.clock.now();
    let warned = 0;
    const widest = Math.max(...EXPIRY_WARNINGS_DAYS);
    for (const secret of await this.credentials.expiringSoon(new Date(now.getTime() - (this.config.credentialExpiryDays - widest) * DAY_MS))) {
      const expiresAt = this.expiryOf(secret.created_at);
      const daysLeft = (expiresAt.getTime() - now.getTime()) / DAY_MS;
      if (daysLeft <= 0) continue;
      const reached = EXPIRY_WARNINGS_DAYS.filter((days) => daysLeft <= days);
      if (reached.length === 0) continue;
      // Only the nearest threshold is sent; the wider ones it passed are recorded as done.
      const nearest = Math.min(...reached);
      await this.db.transaction(async (tx) => {
        const fresh = await this.credentials.recordWarnings(secret.id, reached, now, tx);
        if (!fresh.includes(nearest)) return;
        await this.outbox.toPartner('credentials.expiring', secret.partner_id, { expires_at: expiresAt.toISOString(), days: nearest }, tx);
        warned++;
      });
    }
    return warned;
  }
}
