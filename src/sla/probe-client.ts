import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { PartnerAccess } from '../partners/partner-directory';

/** Who the availability probe's lookups are traced as: no partner (partner_id null), this agent and recipient. */
export const PROBE_AGENT = 'sla-probe';
/** DINSIC's SIRET: the probe's answers go to the operator itself. */
export const PROBE_RECIPIENT = '13002526500013';

/**
 * The built-in client of the availability probe (DESIGN §6): a bearer token drawn at start and held in memory only,
 * accepted by the lookup route alone. It is no partner: never listed, never suspended by mistake, never in the
 * database, and its token never leaves the process (each instance has its own).
 */
@Injectable()
export class ProbeClient {
  private readonly token = randomBytes(32).toString('base64url');
  readonly access: PartnerAccess = {
    id: '00000000-0000-4000-8000-000000000000', name: 'sonde de disponibilité', status: 'active',
    scopes: new Set(['droits.ouverture']), recipients: new Set([PROBE_RECIPIENT]), rateLimitPerSecond: 1_000_000,
  };

  /** The Authorization header the probe sends. */
  authorization(): string {
    return `Bearer ${this.token}`;
  }

  isProbeToken(token: string): boolean {
    return token.length === this.token.length && timingSafeEqual(Buffer.from(token), Buffer.from(this.token));
  }
}
