import { Injectable } from '@nestjs/common';
import type { PartnerPrincipal } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { MaintenanceCalendar } from '../sla/maintenance';
import { CATEGORY_OF_SCOPE, Droits, mapToDroits } from './droits';
import { LookupRequest } from './lookup-request';
import { PersonNotFound, RecipientNotDeclared, UnderMaintenance } from './rights.errors';
import { filterByScopes } from './scope-filter';
import { UpstreamClient } from './upstream.client';

/** What the audit entry of a lookup needs, filled in as the lookup goes (also when it fails). */
export interface LookupTrace {
  /** The NIR the person was resolved to: the one sent, or the one the upstream returned for an identity. */
  resolvedNir?: string;
  upstreamMs?: number;
  scopesReturned?: string[];
}

export interface LookupResult {
  request_id: string;
  date_reference: string;
  droits: Partial<Droits>;
}

/**
 * A partner's rights lookup (DESIGN §3.4): check the recipient, refuse during maintenance, ask the upstream,
 * map its record into the gateway's model and keep only the categories the partner may receive.
 * Nothing of the person is kept: no cache, no log.
 */
@Injectable()
export class RightsService {
  constructor(
    private readonly upstream: UpstreamClient,
    private readonly maintenance: MaintenanceCalendar,
    private readonly clock: Clock,
  ) {}

  async lookup(principal: PartnerPrincipal, request: LookupRequest, requestId: string, trace: LookupTrace = {}): Promise<LookupResult> {
    if ('nir' in request.subject) trace.resolvedNir = request.subject.nir;
    if (!principal.partner.recipients.has(request.recipient)) throw new RecipientNotDeclared();
    const now = this.clock.now();
    const window = this.maintenance.activeAt(now);
    if (window) throw new UnderMaintenance(window.ends_at, (window.ends_at.getTime() - now.getTime()) / 1000);

    const answer = await this.upstream.search(request.subject, request.dateReference, requestId);
    trace.upstreamMs = Math.round(answer.upstreamMs);
    if (!answer.found) throw new PersonNotFound();
    trace.resolvedNir = answer.record.nir;
    const droits = filterByScopes(mapToDroits(answer.record, request.dateReference), principal.effectiveScopes);
    trace.scopesReturned = principal.effectiveScopes.filter((scope) => (CATEGORY_OF_SCOPE as Record<string, string>)[scope] in droits);
    return { request_id: requestId, date_reference: request.dateReference, droits };
  }
}
