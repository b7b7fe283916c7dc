import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { exportJWK, generateKeyPair, importJWK, JWK, KeyLike, calculateJwkThumbprint } from 'jose';
import { Clock } from '../common/clock';
import { OutageLog } from '../common/logging/outage-log';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { SecretBox } from '../common/secret-box';
import { ServerSecret } from '../common/server-secret';

export const ALGORITHM = 'ES256';

interface KeyRow {
  kid: string;
  public_jwk: JWK;
  private_key_encrypted: string;
  created_at: Date;
  retired_at: Date | null;
}

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: KeyLike;
  retiredAt: Date | null;
}

/** How often keys are re-read, so that a rotation made through another instance reaches this one. */
const RELOAD_MS = 30_000;

/**
 * The ES256 keys that sign access tokens. Generated on first start, kept in PostgreSQL (private keys
 * encrypted with AES-256-GCM under a key derived from the server secret) so every instance signs and
 * verifies with the same set. A rotated key stays published until the tokens it signed have expired.
 */
@Injectable()
export class SigningKeys implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeys.name);
  private readonly outage = new OutageLog(this.logger, 'signing keys reload');
  private readonly box: SecretBox;
  private keys = new Map<string, LoadedKey>();
  private active?: { kid: string; privateKey: KeyLike };
  private timer?: NodeJS.Timeout;
  private lastUnknownKidReload = 0;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    secret: ServerSecret,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.box = new SecretBox(secret, 'token-signing-keys');
  }

  async onModuleInit(): Promise<void> {
    await this.load();
    if (!this.active) {
      await this.insertNewKey();
      await this.load();
    }
    this.timer = setInterval(() => this.load().then(() => this.outage.succeeded(), (error) => this.outage.failed(error)), RELOAD_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  signer(): { kid: string; privateKey: KeyLike } {
    if (!this.active) throw new Error('no active signing key');
    return this.active;
  }

  /** The public key for a kid, re-reading the database (at most once a second) for a kid not seen yet. */
  async publicKey(kid: string): Promise<KeyLike | undefined> {
    const found = this.keys.get(kid);
    if (found) return found.publicKey;
    if (Date.now() - this.lastUnknownKidReload < 1000) return undefined;
    this.lastUnknownKidReload = Date.now();
    await this.load();
    return this.keys.get(kid)?.publicKey;
  }

  /** The JWKS: the active key and retired keys whose tokens may still be unexpired. */
  jwks(): { keys: JWK[] } {
    const horizon = this.clock.now().getTime() - (this.config.token.ttlSeconds + 60) * 1000;
    const keys = [...this.keys.values()]
      .filter((key) => !key.retiredAt || key.retiredAt.getTime() > horizon)
      .map((key) => ({ ...key.publicJwk, kid: key.kid, alg: ALGORITHM, use: 'sig' }));
    return { keys };
  }

  /** Makes a new key the signing key and retires the current one. Returns the new kid. */
  async rotate(): Promise<string> {
    const kid = await this.db.transaction(async (tx) => {
      await this.db.rows('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [this.clock.now()], tx);
      return this.insertNewKey(tx);
    });
    await this.load();
    return kid;
  }

  private async insertNewKey(tx?: Parameters<Database['rows']>[2]): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = JSON.stringify(await exportJWK(privateKey));
    await this.db.rows(
      `INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_encrypted, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT DO NOTHING`,
      [kid, ALGORITHM, publicJwk, this.box.seal(privateJwk), this.clock.now()], tx);
    return kid;
  }

  private async load(): Promise<void> {
    const rows = await this.db.rows<KeyRow>(
      'SELECT kid, public_jwk, private_key_encrypted, created_at, retired_at FROM signing_keys ORDER BY created_at');
    const keys = new Map<string, LoadedKey>();
    let active: typeof this.active;
    for (const row of rows) {
      const existing = this.keys.get(row.kid);
      const publicKey = existing?.publicKey ?? (await importJWK(row.public_jwk, ALGORITHM)) as KeyLike;
      keys.set(row.kid, { kid: row.kid, publicJwk: row.public_jwk, publicKey, retiredAt: row.retired_at });
      if (!row.retired_at) {
        const privateKey = this.active?.kid === row.kid ? this.active.privateKey
          : (await importJWK(JSON.parse(this.box.open(row.private_key_encrypted)), ALGORITHM)) as KeyLike;
        active = { kid: row.kid, privateKey };
      }
    }
    this.keys = keys;
    this.active = active;
  }
}
