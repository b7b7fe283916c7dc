import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/config';

/**
 * A sandbox (SANDBOX=true) approves anyone at once: it must never reach real people's rights. At start-up it checks
 * that its upstream is the bundled simulator (which answers its fault-injection endpoint), and refuses to start
 * otherwise, unless SANDBOX_UPSTREAM_OK=true says that upstream is a test backend too.
 */
@Injectable()
export class SandboxUpstreamCheck implements OnModuleInit {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.sandbox || this.config.sandboxUpstreamOk) return;
    const url = this.config.upstream.url;
    if (!url) return; // the command line: no upstream to reach
    let simulator = false;
    try {
      const answer = await fetch(new URL('/__admin/faults', url), { signal: AbortSignal.timeout(3000) });
      const body = (await answer.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      simulator = answer.status === 200 && typeof body === 'object' && body !== null && 'down' in body;
    } catch {
      simulator = false;
    }
    if (!simulator) {
      throw new Error(`SANDBOX=true runs against the bundled simulator only, and ${new URL(url).origin} is not it: `
        + 'unset UPSTREAM_URL, or set SANDBOX_UPSTREAM_OK=true if that backend holds test data only');
    }
  }
}
