import { Client } from 'pg';
import { parentPort, workerData } from 'node:worker_threads';
import { RangeTask, SegmentResult, verifyRange } from './verify-range';

export type { SegmentResult } from './verify-range';

/** One segment of the chain, [fromSeq, toSeq], verified on its own; the caller checks the junctions. */
export interface SegmentTask extends RangeTask {
  databaseUrl: string;
}

/** Verifies entries and checkpoints of a seq range with its own connection (run in a worker thread). */
export async function verifySegment(task: SegmentTask): Promise<SegmentResult> {
  const client = new Client({ connectionString: task.databaseUrl });
  await client.connect();
  try {
    return await verifyRange(client, task);
  } finally {
    await client.end();
  }
}

if (parentPort && workerData) {
  verifySegment(workerData as SegmentTask).then((result) => parentPort!.postMessage(result),
    (error: Error) => parentPort!.postMessage({ ok: false, checked: 0, checkpoints_checked: 0, problem: `segment failed: ${error.name}` }));
}
