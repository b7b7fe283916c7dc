import { Injectable, OnModuleInit } from '@nestjs/common';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import type { ClientBase } from 'pg';
import { Database } from '../common/database/database';
import { SecretBox } from '../common/secret-box';
import { ServerSecret } from '../common/server-secret';
import { Checkpoint, checkpointPayload, CheckpointPayload } from './chain';

const KEY_PURPOSE = 'audit-checkpoint-key';

/**
 * As the owner, at start-up: the checkpoint signing key, generated on first use. The application role may only
 * read audit_keys, so that nothing reachable from a request can add a key of its own to sign with.
 */
export async function createCheckpointKeyIfNone(owner: ClientBase, secret: ServerSecret): Promise<void> {
  const { rowCount } = await owner.query('SELECT 1 FROM audit_keys LIMIT 1');
  if (rowCount) return;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const keyId = createHash('sha256').update(spki).digest('hex').slice(0, 16);
  await owner.query('INSERT INTO audit_keys (key_id, public_key, private_key_encrypted) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [keyId, spki, new SecretBox(secret, KEY_PURPOSE).seal(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())]);
}

/**
 * The Ed25519 key that signs audit checkpoints (created by the owner, createCheckpointKeyIfNone), kept in
 * PostgreSQL with its private half encrypted; its public half is published with every checkpoint so that copies
 * kept outside can be checked.
 */
@Injectable()
export class CheckpointKeys implements OnModuleInit {
  private readonly box: SecretBox;
  private current?: { keyId: string; publicKey: string; privateKey: KeyObject };
  private readonly published = new Map<string, string>();

  constructor(private readonly db: Database, secret: ServerSecret) {
    this.box = new SecretBox(secret, KEY_PURPOSE);
  }

  async onModuleInit(): Promise<void> {
    const rows = await this.load();
    if (rows.length === 0) throw new Error('no audit checkpoint key: the database was not prepared by its owner (prepareDatabase)');
    const newest = rows[rows.length - 1];
    this.current = { keyId: newest.key_id, publicKey: newest.public_key,
      privateKey: createPrivateKey(this.box.open(newest.private_key_encrypted)) };
  }

  sign(checkpoint: CheckpointPayload): Checkpoint {
    return { ...checkpoint, ...this.signText(checkpointPayload(checkpoint)) };
  }

  /** The id of the key signing now. */
  currentKeyId(): string {
    return this.current!.keyId;
  }

  /**
   * The same key signs the months' frozen availability reports (their canonical JSON, a shape no checkpoint has), so
   * that what partners hold is checked with the one published key.
   */
  signText(text: string): { key_id: string; signature: string } {
    const key = this.current!;
    return { key_id: key.keyId, signature: sign(null, Buffer.from(text), key.privateKey).toString('base64url') };
  }

  /** The current key, for the sealer's thread to sign checkpoints with (SealThread). */
  signingKey(): { keyId: string; privateKey: KeyObject } {
    return { keyId: this.current!.keyId, privateKey: this.current!.privateKey };
  }

  /** Public keys by id, as base64 DER (SPKI). */
  publicKeys(): Record<string, string> {
    return Object.fromEntries(this.published);
  }

  publicKey(keyId: string): KeyObject | undefined {
    const spki = this.published.get(keyId);
    return spki ? createPublicKey({ key: Buffer.from(spki, 'base64'), format: 'der', type: 'spki' }) : undefined;
  }

  private async load() {
    const rows = await this.db.rows<{ key_id: string; public_key: string; private_key_encrypted: string }>(
      'SELECT key_id, public_key, private_key_encrypted FROM audit_keys ORDER BY created_at');
    for (const row of rows) this.published.set(row.key_id, row.public_key);
    return rows;
  }
}
