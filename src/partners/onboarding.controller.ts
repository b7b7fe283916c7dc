import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { AccessRequestDto } from './access-request.dto';
import { AccessRequestsService } from './access-requests.service';
import { presentTerms, TermsService } from './terms.service';

/** What an administration sees before it is a partner: the terms, and the access request form. */
@ApiTags('onboarding')
@Controller('v1')
export class OnboardingController {
  constructor(private readonly requests: AccessRequestsService, private readonly terms: TermsService) {}

  @Post('access-requests') @HttpCode(201) @Public()
  @ApiOperation({ summary: 'Submit an access request (habilitation)' })
  submit(@Body() body: AccessRequestDto) {
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
