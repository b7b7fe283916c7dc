import { MessagePort, Worker } from 'node:worker_threads';

/** An error as a worker thread reports it: enough to rebuild one its caller can classify (an unreachable database). */
export interface ReportedError {
  name: string;
  message: string;
  code?: string;
}

export function reportError(error: unknown): ReportedError {
  const e = error as (Error & { code?: unknown }) | undefined;
  return { name: e?.name ?? 'Error', message: String(e?.message ?? error), code: typeof e?.code === 'string' ? e.code : undefined };
}

/** An error a worker thread reported, rebuilt on this side: the same name, message and code. */
export class ThreadError extends Error {
  constructor(reported: ReportedError) {
    super(reported.message);
    this.name = reported.name;
    if (reported.code) Object.assign(this, { code: reported.code });
  }
}

/** What a thread started for one task posts: its result, or the error that stopped it (never a result standing for one). */
export type TaskReply<T> = { ok: true; result: T } | { ok: false; error: ReportedError };

/** In the thread: posts the task's outcome as a TaskReply. */
export function reply<T>(port: MessagePort, task: Promise<T>): void {
  task.then((result) => port.postMessage({ ok: true, result } satisfies TaskReply<T>),
    (error: unknown) => port.postMessage({ ok: false, error: reportError(error) } satisfies TaskReply<T>));
}

/**
 * Runs `script` in a worker thread for one task and answers its result; rejects with the error it reported, when it
 * ends without a word (out of memory), or with the signal's reason when `signal` aborts (the thread is stopped).
 */
export function runTaskThread<T>(script: string, workerData: unknown, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = new Worker(script, { workerData });
    const cancel = () => {
      reject(signal!.reason);
      void worker.terminate();
    };
    signal?.addEventListener('abort', cancel, { once: true });
    worker.once('message', (answer: TaskReply<T>) => {
      if (answer.ok) resolve(answer.result);
      else reject(new ThreadError(answer.error));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', cancel);
      reject(new Error(`the thread exited (${code}) without a result`));
    });
  });
}
