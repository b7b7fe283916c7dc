import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { Metrics } from '../common/metrics';

/** Prometheus scrape endpoint (DESIGN §6). Counts and latencies by route template only: no personal data. */
@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('metrics') @Public()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Prometheus metrics: requests and latency by route, upstream latency, breaker state, audit backlog' })
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
