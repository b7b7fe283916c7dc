import { Injectable } from '@nestjs/common';
import { ServiceUnavailable } from './errors/domain-errors';

/** What work cut short by the instance's stop answers: retry, another instance (or this one restarted) will serve. */
export class InstanceStopping extends ServiceUnavailable {
  constructor() {
    super('instance_stopping', 'This instance of the gateway is stopping: the work in progress was interrupted and '
      + 'nothing was changed. Send the request again.', 1);
  }
}

/**
 * The instance's stop, as a signal (closeGracefully sets it before the HTTP server stops taking requests). Requests
 * are finished in full while the instance stops; work that may last minutes (a verification of the whole trail)
 * gives up at once instead, answering InstanceStopping, rather than holding the stop until its deadline and being cut
 * without an answer.
 */
@Injectable()
export class Stopping {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;

  begin(): void {
    this.controller.abort(new InstanceStopping());
  }
}
