import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTaskThread, ThreadError } from './threads';

/** A worker script of a few lines, as the compiled workers are plain JavaScript files. */
const folder = mkdtempSync(join(tmpdir(), 'threads-spec-'));
function script(name: string, body: string): string {
  const path = join(folder, `${name}.js`);
  writeFileSync(path, `const { parentPort, workerData } = require('node:worker_threads');\n${body}\n`);
  return path;
}

describe('runTaskThread', () => {
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('answers the result the thread posts', async () => {
    expect(await runTaskThread(script('ok', 'parentPort.postMessage({ ok: true, result: workerData * 2 });'), 21)).toBe(42);
  });

  it('rejects with the error the thread reports, its name and code kept (an unreachable database stays one)', async () => {
    const failing = script('failing', `parentPort.postMessage({ ok: false, error: { name: 'DatabaseError', message: 'terminating connection', code: '57P01' } });`);
    const error = await runTaskThread(failing, null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThreadError);
    expect(error).toMatchObject({ name: 'DatabaseError', message: 'terminating connection', code: '57P01' });
  });

  it('rejects when the thread ends without a word, rather than waiting for ever', async () => {
    await expect(runTaskThread(script('silent', 'process.exit(3);'), null)).rejects.toThrow('the thread exited (3) without a result');
  });

  it('stops the thread and rejects with the reason when the signal aborts', async () => {
    const stopped = new AbortController();
    const forever = runTaskThread(script('forever', 'setInterval(() => undefined, 1000);'), null, stopped.signal);
    stopped.abort(new Error('the client left'));
    await expect(forever).rejects.toThrow('the client left');
    await expect(runTaskThread(script('never', ''), null, AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
  });
});
