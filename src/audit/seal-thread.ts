import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ClientBase } from 'pg';
import { ThreadError } from '../common/threads';
import { CheckpointKeys } from './checkpoint-keys';
import { ChainedBatch, Head, readAndChain } from './seal-batch';
import type { SealReply, SealRequest, SealWorkerData } from './seal-worker';
import { RangeTask, SegmentResult, verifyRange } from './verify-range';

/** The compiled worker, beside this file in the build; the tests, which run the TypeScript sources, have none. */
export const SEAL_WORKER_SCRIPT = join(__dirname, 'seal-worker.js');
/** How long stopping waits for the worker to close its connection before ending it anyway. */
const CLOSE_WAIT_MS = 2000;

type Request = SealRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;


/**
 * Where the sealer's per-entry work runs: reading and hashing pending entries, signing checkpoints, verifying
 * what another instance sealed. In a worker thread with its own database connection when the build has the worker
 * script (the gateway), so that a backlog of a million entries does not take the event loop from the lookups; in
 * this thread, on the sealer's own connection, otherwise (the tests of the TypeScript sources).
 * The worker starts when first needed and again after it died (its pending calls fail: the run fails and the next
 * one starts over from the database).
 */
export class SealThread {
  private worker?: Worker;
  private readonly calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;

  constructor(private readonly keys: CheckpointKeys, private readonly databaseUrl: string | undefined,
    private readonly script: string | undefined = existsSync(SEAL_WORKER_SCRIPT) ? SEAL_WORKER_SCRIPT : undefined) {}

  /** Whether the work runs in a worker thread. */
  get threaded(): boolean {
    return this.script !== undefined && this.databaseUrl !== undefined;
  }

  /** Reads and chains the next batch (the reader is used only when not threaded). */
  batch(reader: ClientBase, after: string, head: Head): Promise<ChainedBatch> {
    return this.threaded ? this.call<ChainedBatch>({ op: 'batch', after, head }) : readAndChain(reader, after, head);
  }

  /** Signs a checkpoint's payload with the current key. */
  sign(text: string): Promise<{ key_id: string; signature: string }> {
    return this.threaded ? this.call({ op: 'sign', text }) : Promise.resolve(this.keys.signText(text));
  }

  verify(reader: ClientBase, task: RangeTask): Promise<SegmentResult> {
    return this.threaded ? this.call<SegmentResult>({ op: 'verify', task }) : verifyRange(reader, task);
  }

  /** Closes the worker's connection (waiting at most CLOSE_WAIT_MS: a shutdown never hangs on it) and ends the worker. */
  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.call({ op: 'close' }).catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    // A call still waiting (a read stuck behind a lock) fails now: the run it belongs to ends instead of hanging.
    this.retire(worker, new ThreadError({ name: 'SealThreadStopped', message: 'the sealer\'s thread was stopped' }));
    await worker.terminate();
  }

  /** Forgets the worker (the next call starts another) and fails the calls it had not answered. */
  private retire(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }

  private call<T>(request: Request): Promise<T> {
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    if (this.calls.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, ...request });
    });
  }

  private start(): Worker {
    const signing = this.keys.signingKey();
    const data: SealWorkerData = { databaseUrl: this.databaseUrl!, keyId: signing.keyId, privateKey: signing.privateKey };
    const worker = new Worker(this.script!, { workerData: data });
    worker.on('message', (reply: SealReply) => {
      const call = this.calls.get(reply.id);
      if (!call) return;
      this.calls.delete(reply.id);
      if (this.calls.size === 0) worker.unref();
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new ThreadError(reply.error));
    });
    worker.on('error', (error) => this.retire(worker, error));
    worker.on('exit', (code) => this.retire(worker, new ThreadError({ name: 'SealThreadExited', message: `the sealer's thread exited (${code})` })));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
