import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentPartner, PartnerAuth, PartnerPrincipal } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { RateLimited } from '../common/errors/domain-errors';
import { WindowRateLimiter } from '../common/rate-limiter';
import { parisDate, parseLookupRequest } from './lookup-request';
import { LookupResult, RightsService } from './rights.service';
import { SCOPES } from './scopes';

class IdentiteDto {
  @ApiProperty({ example: 'DUPONT' }) nom_naissance!: string;
  @ApiProperty({ example: ['Marie', 'Claire'] }) prenoms!: string[];
  @ApiProperty({ example: '1984-05-12' }) date_naissance!: string;
  @ApiProperty({ enum: ['F', 'M'] }) sexe!: string;
  @ApiPropertyOptional({ example: '75056' }) code_lieu_naissance?: string;
}

/** Documentation of the lookup body; validation is parseLookupRequest (fast, with field-level reasons). */
class LookupDto {
  @ApiPropertyOptional({ example: '284057505612387', description: 'NIR (13 characters + 2-digit key); or identite, not both' })
  nir?: string;
  @ApiPropertyOptional({ type: IdentiteDto }) identite?: IdentiteDto;
  @ApiPropertyOptional({ example: '2026-11-23', description: 'default today (Europe/Paris); never in the future' })
  date_reference?: string;
  @ApiProperty({ example: '21690123100011', description: 'SIRET receiving the data; one the partner declared' })
  recipient!: string;
  @ApiPropertyOptional({ example: 'RSA' }) context?: string;
  @ApiProperty({ example: 'dossier 2026-001234', maxLength: 100 }) object!: string;
  @ApiProperty({ example: 'agent-4711' }) agent!: string;
}

/** POST /v1/droits/recherche: the gateway's main job. */
@ApiTags('rights')
@ApiBearerAuth()
@Controller('v1/droits')
export class RightsController {
  private readonly limiter = new WindowRateLimiter(1000);

  constructor(private readonly rights: RightsService, private readonly clock: Clock) {}

  @Post('recherche') @HttpCode(200) @PartnerAuth(...SCOPES)
  @ApiOperation({ summary: "Look up a person's health-insurance rights; only the granted categories are returned" })
  @ApiBody({ type: LookupDto })
  @ApiResponse({ status: 404, description: 'person_not_found: the backend does not know this person (a decision)' })
  @ApiResponse({ status: 502, description: 'upstream_error — retryable, not a decision on rights' })
  @ApiResponse({ status: 503, description: 'upstream_unavailable or maintenance — retryable, with Retry-After' })
  @ApiResponse({ status: 504, description: 'upstream_timeout — retryable, not a decision on rights' })
  async search(@Body() body: unknown, @CurrentPartner() principal: PartnerPrincipal,
    @Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<LookupResult> {
    reply.header('cache-control', 'no-store');
    const now = this.clock.now();
    const quota = this.limiter.take(principal.partner.id, principal.partner.rateLimitPerSecond, now.getTime());
    reply.header('ratelimit-limit', quota.limit);
    reply.header('ratelimit-remaining', quota.remaining);
    reply.header('ratelimit-reset', Math.max(1, Math.ceil(quota.resetMs / 1000)));
    if (!quota.allowed) throw new RateLimited(quota.resetMs / 1000, 'This partner exceeded its lookups per second.');
    const lookup = parseLookupRequest(body, parisDate(now));
    return this.rights.lookup(principal, lookup, request.id);
  }
}
