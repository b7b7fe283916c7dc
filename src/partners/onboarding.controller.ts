import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { RateLimited, Unauthenticated } from '../common/errors/domain-errors';
import { bearerToken } from '../auth/partner-authenticator';
import { WindowRateLimiter } from '../common/rate-limiter';
import { AccessRequestDto } from './access-request.dto';
import { AccessRequestsService } from './access-requests.service';
import { presentTerms, TermsService } from './terms.service';
import { ApiProblems } from '../common/errors/api-problems';

/** What an administration sees before it is a partner: the terms, and the access request form. */
@ApiTags('onboarding')
@Controller('v1')
export class OnboardingController {
  /** Submissions per client address per hour: anyone may ask, nobody may flood the operators' queue. */
  private readonly submissions = new WindowRateLimiter(3600_000);

  constructor(private readonly requests: AccessRequestsService, private readonly terms: TermsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig, private readonly clock: Clock) {}

  @Post('access-requests') @HttpCode(201) @Public() @ApiProblems('rate_limited')
  @ApiOperation({ summary: 'Submit an access request (habilitation)' })
  @ApiTooManyRequestsResponse({ description: 'rate_limited: too many requests from this address this hour (Retry-After)' })
  submit(@Body() body: AccessRequestDto, @Req() request: FastifyRequest) {
    const quota = this.submissions.take(request.ip, this.config.limits.accessRequestsPerHour, this.clock.now().getTime());
    if (!quota.allowed) throw new RateLimited(quota.resetMs / 1000, 'Too many access requests from this address; retry later.');
    return this.requests.submit(body);
  }

  @Get('access-requests/:id') @Public() @ApiBearerAuth() @ApiProblems('token_missing')
  @ApiOperation({ summary: "Follow an access request with its tracking_token as a Bearer: status and the operators' messages" })
  track(@Param('id') id: string, @Req() request: FastifyRequest) {
    return this.requests.track(id, trackingToken(request));
  }

  @Patch('access-requests/:id') @Public() @ApiBearerAuth() @ApiProblems('token_missing', 'request_not_amendable')
  @ApiOperation({ summary: 'Amend an access request an operator sent back (status changes_requested), with its tracking_token as a Bearer' })
  amend(@Param('id') id: string, @Body() body: AccessRequestDto, @Req() request: FastifyRequest) {
    return this.requests.amend(id, trackingToken(request), body);
  }

  @Get('terms/current') @Public()
  @ApiOperation({ summary: 'The terms of use in force' })
  async current() {
    return presentTerms(await this.terms.current());
  }

  @Get('terms') @Public()
  @ApiOperation({ summary: 'The terms in force and the versions announced ahead' })
  async list() {
    const [current, upcoming] = await Promise.all([this.terms.current(), this.terms.upcoming()]);
    return { current: presentTerms(current), upcoming: upcoming.map(presentTerms) };
  }
}

function trackingToken(request: FastifyRequest): string {
  const token = bearerToken(request);
  if (!token) throw new Unauthenticated('token_missing', "The access request's tracking_token is required as a Bearer.");
  return token;
}
