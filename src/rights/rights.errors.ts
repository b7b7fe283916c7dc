import { DomainError } from '../common/errors/domain-errors';

const NOT_A_DECISION = 'This is not a decision on the person\'s rights: retry later.';

export class PersonNotFound extends DomainError {
  readonly status = 404;
  readonly code = 'person_not_found';
  readonly title = 'Person not found';
  constructor() {
    super('The health-insurance rights backend does not know this person.');
  }
}

export class RecipientNotDeclared extends DomainError {
  readonly status = 403;
  readonly code = 'recipient_not_declared';
  readonly title = 'Forbidden';
  constructor() {
    super('The recipient is not one of the SIRETs this partner declared.');
  }
}

/** Provider failures (502/503/504): retryable, and never to be read as "no rights". */
abstract class ProviderFailure extends DomainError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(`${detail} ${NOT_A_DECISION}`);
    this.extra.retryable = true;
    this.extra.decision = false;
    this.headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

export class UpstreamError extends ProviderFailure {
  readonly status = 502;
  readonly code = 'upstream_error';
  readonly title = 'Upstream error';
  constructor(readonly reason: string) {
    super('The health-insurance rights backend answered with an error or an invalid answer.', 1);
  }
}

export class UpstreamTimeout extends ProviderFailure {
  readonly status = 504;
  readonly code = 'upstream_timeout';
  readonly title = 'Upstream timeout';
  constructor() {
    super('The health-insurance rights backend did not answer in time.', 1);
  }
}

export class UpstreamUnavailable extends ProviderFailure {
  readonly status = 503;
  readonly code = 'upstream_unavailable';
  readonly title = 'Upstream unavailable';
  constructor(retryAfterSeconds: number) {
    super('The health-insurance rights backend is unavailable (circuit open after repeated failures).', retryAfterSeconds);
  }
}

export class UnderMaintenance extends ProviderFailure {
  readonly status = 503;
  readonly code = 'maintenance';
  readonly title = 'Planned maintenance';
  constructor(endsAt: Date, retryAfterSeconds: number) {
    super(`The service is in a planned maintenance window until ${endsAt.toISOString()}.`, retryAfterSeconds);
    this.extra.maintenance_ends_at = endsAt.toISOString();
  }
}
