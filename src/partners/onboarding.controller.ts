import { Body, Controller, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../auth/access.decorators';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { RateLimited } from '../common/errors/domain-errors';
import { WindowRateLimiter } from '../common/rate-limiter';
import { AccessRequestDto } from './access-request.dto';
import { AccessRequestsService } from './access-requests.service';
import { presentTerms, TermsService } from './terms.service';

/** What an administration sees before it is a partner: the terms, and the access request form. */
@ApiTags('onboarding')
@Controller('v1')
export class OnboardingController {
  /** Submissions per client address per hour: anyone may ask, nobody may flood the operators' queue. */
  private readonly submissions = new WindowRateLimiter(3600_000);

  constructor(private readonly requests: AccessRequestsService, private readonly terms: TermsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig, private readonly clock: Clock) {}

  @Post('access-requests') @HttpCode(201) @Public()
  @ApiOperation({ summary: 'Submit an access request (habilitation)' })
  @ApiTooManyRequestsResponse({ description: 'rate_limited: too many requests from this address this hour (Retry-After)' })
  submit(@Body() body: AccessRequestDto, @Req() request: FastifyRequest) {
    const quota = this.submissions.take(request.ip, this.config.limits.accessRequestsPerHour, this.clock.now().getTime());
    if (!quota.allowed) throw new RateLimited(quota.resetMs / 1000, 'Too many access requests from this address; retry later.');
    return this.requests.submit(body);
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
