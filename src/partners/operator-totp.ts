import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import { toString as qrCode } from 'qrcode';
import { ActionLog } from '../audit/action-log';
import { Clock } from '../common/clock';
import { Database } from '../common/database/database';
import { Conflict, Unauthenticated, ValidationFailed } from '../common/errors/domain-errors';
import { hashSecret, verifySecret } from '../common/secret-hash';
import { SecretBox } from '../common/secret-box';
import { ServerSecret } from '../common/server-secret';
import { Operator, OperatorsRepository } from './operators.repository';

const ISSUER = 'API droits CNAM';
const PERIOD_SECONDS = 30;
const RECOVERY_CODES = 10;
/** A code from the step before or after is accepted: phones' clocks drift. */
const TOLERANCE_STEPS = 1;

export interface PendingEnrolment {
  /** Base32, for typing into an authenticator that cannot scan. */
  secret: string;
  uri: string;
  /** The otpauth:// URI as a QR code, an SVG drawn here (no image service, no other host). */
  qrSvg: string;
}

/** A recovery code: 12 letters and digits in groups of four, easy to read aloud and type. */
function recoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(12);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

/**
 * Operators' second factor (DESIGN §4): enrolment of a TOTP authenticator (RFC 6238, otplib 12: CommonJS, Node's own crypto) from the console with a
 * QR code rendered here, recovery codes shown once, and the check at login — a code is accepted once (its time step
 * is recorded), a recovery code once.
 */
@Injectable()
export class OperatorTotp {
  private readonly box: SecretBox;

  constructor(private readonly operators: OperatorsRepository, private readonly db: Database, private readonly actions: ActionLog,
    private readonly clock: Clock, secret: ServerSecret) {
    this.box = new SecretBox(secret, 'operator-totp');
  }

  /** A new secret for the operator to scan; it takes effect only once a first code from it is confirmed. */
  async startEnrolment(operator: Operator): Promise<PendingEnrolment> {
    const secret = authenticator.generateSecret(20);
    await this.operators.setPendingTotp(operator.id, this.box.seal(secret));
    return this.present(operator, secret);
  }

  /** The enrolment waiting for its first code, shown again (after a mistyped code). */
  async pendingEnrolment(operator: Operator): Promise<PendingEnrolment | undefined> {
    const stored = await this.operators.totpSecrets(operator.id);
    return stored?.totp_pending_secret ? this.present(operator, this.box.open(stored.totp_pending_secret)) : undefined;
  }

  private async present(operator: Operator, secret: string): Promise<PendingEnrolment> {
    const uri = authenticator.keyuri(operator.email, ISSUER, secret);
    const qrSvg = await qrCode(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M', width: 220 });
    return { secret, uri, qrSvg };
  }

  /** Confirms the pending secret with a code from it; answers the recovery codes, shown this once. */
  async confirmEnrolment(operator: Operator, code: string): Promise<string[]> {
    const stored = await this.operators.totpSecrets(operator.id);
    if (!stored?.totp_pending_secret) throw new Conflict('no_pending_enrolment', 'Start the enrolment first: no authenticator is waiting for a code.');
    const step = this.check(this.box.open(stored.totp_pending_secret), code, undefined);
    if (step === undefined) throw new ValidationFailed([{ field: 'code', reason: 'is not the code the authenticator shows now' }]);
    const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
    const hashes = await Promise.all(codes.map((c) => hashSecret(c)));
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      await this.operators.enrolTotp(operator.id, step, hashes, now, tx);
      await this.actions.record({ actor: { type: 'operator', operatorId: operator.id }, action: 'operator.second_factor_enrolled',
        targetType: 'operator', targetId: operator.id, detail: { recovery_codes: RECOVERY_CODES }, at: now }, tx);
    });
    return codes;
  }

  /**
   * The second factor of a login: a current TOTP code (never one already used), or an unused recovery code. Throws
   * totp_required when none was given, invalid_totp when it does not match.
   */
  async verifyLogin(operator: Operator, given: string | undefined): Promise<void> {
    const code = given?.trim().toLowerCase().replace(/\s/g, '');
    if (!code) throw new Unauthenticated('totp_required', 'This operator has a second factor: send the code of the authenticator (totp).', 'Session');
    const stored = await this.operators.totpSecrets(operator.id);
    if (!stored?.totp_secret) return;
    if (/^\d{6}$/.test(code)) {
      const step = this.check(this.box.open(stored.totp_secret), code, stored.totp_last_step === null ? undefined : Number(stored.totp_last_step));
      if (step !== undefined && await this.operators.useTotpStep(operator.id, step)) return;
    } else if (/^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/.test(code)) {
      for (const candidate of await this.operators.unusedRecoveryCodes(operator.id)) {
        if (await verifySecret(code, candidate.code_hash)) {
          if (await this.operators.useRecoveryCode(candidate.id, this.clock.now())) return;
        }
      }
    }
    throw new Unauthenticated('invalid_totp', 'The second-factor code is wrong, expired or already used.', 'Session');
  }

  /** The time step a code matches now (this one, or the one before or after) if later than `afterStep`, or undefined. */
  private check(secret: string, code: string, afterStep: number | undefined): number | undefined {
    if (!/^\d{6}$/.test(code)) return undefined;
    const epoch = this.clock.now().getTime();
    const delta = authenticator.clone({ epoch, step: PERIOD_SECONDS, window: TOLERANCE_STEPS }).checkDelta(code, secret);
    if (delta === null) return undefined;
    const step = Math.floor(epoch / 1000 / PERIOD_SECONDS) + delta;
    return afterStep !== undefined && step <= afterStep ? undefined : step;
  }
}
