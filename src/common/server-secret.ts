import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The gateway's master secret: from SECRET_KEY, or generated once into DATA_DIR/secret.key. Purpose keys
 * (signing-key encryption, audit pseudonyms) are derived from it with HKDF, so one secret is all an operator
 * must back up and share between instances.
 */
export class ServerSecret {
  private constructor(private readonly master: Buffer) {}

  static fromConfig(secretKey: Buffer | undefined, dataDir: string): ServerSecret {
    if (secretKey) return new ServerSecret(secretKey);
    const file = join(dataDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    }
    return new ServerSecret(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'));
  }

  static fromBytes(bytes: Buffer): ServerSecret {
    return new ServerSecret(bytes);
  }

  derive(purpose: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.master, Buffer.alloc(0), purpose, 32));
  }
}
