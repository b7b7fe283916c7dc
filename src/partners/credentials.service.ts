import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { Transaction } from '../common/database/database';
import { decoyHash, hashSecret, verifySecret } from '../common/secret-hash';
import { CredentialsRepository } from './credentials.repository';
import { Partner, PartnersRepository } from './partners.repository';

/** Partners' client credentials: issued at approval and rotation, shown once, stored as scrypt hashes. */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly partners: PartnersRepository,
    private readonly clock: Clock,
  ) {}

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
   * The partner these credentials belong to, or undefined. Unknown clients cost one scrypt like known ones,
   * so that timing does not tell which client ids exist.
   */
  async authenticate(clientId: string, secret: string): Promise<Partner | undefined> {
    const partner = clientId.length <= 64 ? await this.partners.findByClientId(clientId) : undefined;
    const stored = partner ? await this.credentials.usable(partner.id, this.clock.now()) : [];
    if (stored.length === 0) {
      await verifySecret(secret, await decoyHash());
      return undefined;
    }
    let matched = false;
    for (const candidate of stored) {
      if (await verifySecret(secret, candidate.secret_hash)) matched = true;
    }
    return matched ? partner : undefined;
  }
}
