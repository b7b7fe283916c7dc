import { KeyObject, sign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Client } from 'pg';
import { SEALER_APPLICATION_NAME } from '../common/database/connection-names';
import { reportError, ReportedError } from '../common/threads';
import { ChainedBatch, Head, readAndChain } from './seal-batch';
import { RangeTask, verifyRange } from './verify-range';

/**
 * The sealer's thread (started by SealThread): reads pending entries on its own connection and hashes them, signs
 * checkpoints, and verifies what another instance sealed — the per-entry work, off the thread serving requests.
 * The sealer, on the main thread, keeps the lock, the order of the commits and the writes.
 */
export interface SealWorkerData {
  databaseUrl: string;
  keyId: string;
  privateKey: KeyObject;
}

export type SealRequest =
  | { id: number; op: 'batch'; after: string; head: Head }
  | { id: number; op: 'sign'; text: string }
  | { id: number; op: 'verify'; task: RangeTask }
  | { id: number; op: 'close' };

export type SealReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ReportedError };

/** A batch's arrays move to the sealer's thread without a copy (each is a Buffer of its own: binary-array.ts). */
function transferable(value: unknown): ArrayBuffer[] {
  const batch = value as Partial<ChainedBatch> | null;
  if (!(batch?.ids instanceof Uint8Array)) return [];
  return [batch.ids, batch.hashes!, batch.partners!, batch.subjects!, batch.agents!].map((array) => array.buffer as ArrayBuffer);
}

function serve(port: NonNullable<typeof parentPort>, data: SealWorkerData): void {
  let connecting: Promise<Client> | undefined;

  /** One connection, opened when first needed and again after it failed. */
  const connection = (): Promise<Client> => {
    connecting ??= (async () => {
      const client = new Client({ connectionString: data.databaseUrl, application_name: SEALER_APPLICATION_NAME });
      // A connection PostgreSQL closes while idle emits 'error': dropped, not a crash of the thread.
      client.on('error', () => drop(client));
      await client.connect();
      return client;
    })();
    const attempt = connecting;
    attempt.catch(() => {
      if (connecting === attempt) connecting = undefined;
    });
    return attempt;
  };
  const drop = (client: Client) => {
    void connecting?.then((current) => {
      if (current === client) connecting = undefined;
    }, () => undefined);
    client.end().catch(() => undefined);
  };

  const handle = async (request: SealRequest): Promise<unknown> => {
    switch (request.op) {
      case 'sign':
        return { key_id: data.keyId, signature: sign(null, Buffer.from(request.text), data.privateKey).toString('base64url') };
      case 'close': {
        const client = await connecting?.catch(() => undefined);
        connecting = undefined;
        await client?.end().catch(() => undefined);
        return null;
      }
      default: {
        const client = await connection();
        try {
          return request.op === 'batch' ? await readAndChain(client, request.after, request.head) : await verifyRange(client, request.task);
        } catch (error) {
          // Whatever failed (the server gone, a statement cancelled), the next request starts on a fresh connection.
          drop(client);
          throw error;
        }
      }
    }
  };

  port.on('message', (request: SealRequest) => {
    handle(request).then((value) => port.postMessage({ id: request.id, ok: true, value } satisfies SealReply, transferable(value)),
      (error: unknown) => port.postMessage({ id: request.id, ok: false, error: reportError(error) } satisfies SealReply));
  });
}

if (parentPort && (workerData as SealWorkerData | undefined)?.keyId) serve(parentPort, workerData as SealWorkerData);
