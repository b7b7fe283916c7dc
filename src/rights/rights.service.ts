import { Injectable } from '@nestjs/common';
import type { PartnerPrincipal } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { MaintenanceCalendar } from '../sla/maintenance';
import { Droits, mapToDroits } from './droits';
import { LookupRequest } from './lookup-request';
import { PersonNotFound, RecipientNotDeclared, UnderMaintenance } from './rights.errors';
import { filterByScopes } from './scope-filter';
import { UpstreamClient } from './upstream.client';

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

  async lookup(principal: PartnerPrincipal, request: LookupRequest, requestId: string): Promise<LookupResult> {
    if (!principal.partner.recipients.has(request.recipient)) throw new RecipientNotDeclared();
    const now = this.clock.now();
    const window = this.maintenance.activeAt(now);
    if (window) throw new UnderMaintenance(window.ends_at, (window.ends_at.getTime() - now.getTime()) / 1000);

    const answer = await this.upstream.search(request.subject, request.dateReference, requestId);
    if (!answer.found) throw new PersonNotFound();
    return {
      request_id: requestId,
      date_reference: request.dateReference,
      droits: filterByScopes(mapToDroits(answer.record, request.dateReference), principal.effectiveScopes),
    };
  }
}
