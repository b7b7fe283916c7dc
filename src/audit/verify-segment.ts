import { Client } from 'pg';
import { parentPort, workerData } from 'node:worker_threads';
import { reply } from '../common/threads';
import { RangeTask, SegmentResult, verifyRange } from './verify-range';

export type { SegmentResult } from './verify-range';

/** One segment of the chain, [fromSeq, toSeq], verified on its own; the caller checks the junctions. */
export interface SegmentTask extends RangeTask {
  databaseUrl: string;
}

/**
 * Verifies entries and checkpoints of a seq range with its own connection (run in a worker thread, which is stopped
 * to cancel it). In this thread (tests), `signal` cancels it by closing the connection: the query waiting fails, and
 * the verification rejects with the signal's reason.
 */
export async function verifySegment(task: SegmentTask, signal?: AbortSignal): Promise<SegmentResult> {
  signal?.throwIfAborted();
  const client = new Client({ connectionString: task.databaseUrl, application_name: 'api-droits-cnam-gateway-verifier' });
  const cancel = () => void client.end().catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await client.connect();
    try {
      return await verifyRange(client, task);
    } finally {
      if (!signal?.aborted) await client.end();
    }
  } catch (error) {
    throw signal?.aborted ? signal.reason : error;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

if (parentPort && workerData) reply(parentPort, verifySegment(workerData as SegmentTask));
