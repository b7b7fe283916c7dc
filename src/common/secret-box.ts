import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ServerSecret } from './server-secret';

/**
 * AES-256-GCM under a key derived from the server secret for one purpose: keeps private keys encrypted at
 * rest in PostgreSQL, so that a database dump alone cannot sign tokens or checkpoints.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secret: ServerSecret, purpose: string) {
    this.key = secret.derive(purpose);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1') throw new Error('unknown encryption format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('cannot decrypt a stored private key: SECRET_KEY (or DATA_DIR/secret.key) is not the one it was created with');
    }
  }
}
