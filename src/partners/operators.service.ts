import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Conflict, Unauthenticated, ValidationFailed } from '../common/errors/domain-errors';
import { decoyHash, hashSecret, verifySecret } from '../common/secret-hash';
import { Operator, OperatorRole, OperatorsRepository, OPERATOR_ROLES } from './operators.repository';

export interface BootstrapResult {
  email: string;
  /** Set only when the password was generated here: it is shown once and never stored in clear. */
  generatedPassword?: string;
}

const sessionHash = (token: string) => createHash('sha256').update(token).digest();

/** DINSIC operators: accounts, password login and sessions. */
@Injectable()
export class OperatorsService {
  constructor(
    private readonly operators: OperatorsRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** On an empty database, creates the first operator with every role. */
  async bootstrap(): Promise<BootstrapResult | undefined> {
    if ((await this.operators.count()) > 0) return undefined;
    const email = this.config.bootstrapOperator.email ?? 'admin@dinsic.localhost';
    const generatedPassword = this.config.bootstrapOperator.password ? undefined : randomBytes(15).toString('base64url');
    const created = await this.operators.create({
      email, displayName: 'Bootstrap operator', roles: [...OPERATOR_ROLES],
      passwordHash: await hashSecret(this.config.bootstrapOperator.password ?? generatedPassword!),
    });
    // Another instance may have bootstrapped at the same moment: then it printed the credentials.
    return created ? { email, generatedPassword } : undefined;
  }

  async create(input: { email: string; password: string; roles: string[]; displayName?: string }): Promise<Operator> {
    const errors = [];
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email) || input.email.length > 254) {
      errors.push({ field: 'email', reason: 'must be an email address' });
    }
    if (input.password.length < 12) errors.push({ field: 'password', reason: 'must be at least 12 characters' });
    const roles = [...new Set(input.roles)];
    if (roles.length === 0 || roles.some((role) => !OPERATOR_ROLES.includes(role as OperatorRole))) {
      errors.push({ field: 'roles', reason: `must be one or more of ${OPERATOR_ROLES.join(', ')}` });
    }
    if (errors.length) throw new ValidationFailed(errors);
    const created = await this.operators.create({
      email: input.email, displayName: input.displayName, roles: roles as OperatorRole[],
      passwordHash: await hashSecret(input.password),
    });
    if (!created) throw new Conflict('operator_exists', 'An operator with this email already exists.');
    return created;
  }

  list(): Promise<Operator[]> {
    return this.operators.list();
  }

  /** Checks a password; the same answer, in similar time, for an unknown email. */
  async checkPassword(email: string, password: string): Promise<Operator> {
    const found = await this.operators.findByEmailWithHash(email);
    const valid = await verifySecret(password, found?.password_hash ?? (await decoyHash()));
    if (!found || !valid || found.disabled_at) {
      throw new Unauthenticated('invalid_credentials', 'Unknown email or wrong password.', 'Session');
    }
    const { password_hash: _hash, ...operator } = found;
    return operator;
  }

  /** An operator by e-mail address (single sign-on), if it exists and is not disabled. */
  async findActiveByEmail(email: string): Promise<Operator | undefined> {
    const found = await this.operators.findByEmailWithHash(email);
    if (!found || found.disabled_at) return undefined;
    const { password_hash: _hash, ...operator } = found;
    return operator;
  }

  /** A new session for an operator whose login is complete (password, and second factor if enrolled). */
  async openSession(operator: Operator): Promise<{ token: string; operator: Operator; expires_at: Date }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.operatorSessionHours * 3600_000);
    await this.operators.createSession(sessionHash(token), operator.id, now, expiresAt);
    return { token, operator, expires_at: expiresAt };
  }

  authenticate(token: string): Promise<Operator | undefined> {
    return this.operators.findBySession(sessionHash(token), this.clock.now());
  }

  logout(token: string): Promise<void> {
    return this.operators.deleteSession(sessionHash(token));
  }
}
