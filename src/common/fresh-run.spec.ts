import { FreshRun } from './fresh-run';

/** Work that ends when the test says so; each run records what it saw when it started. */
function gatedWork(state: { value: number }) {
  const runs: { saw: number; end: (error?: Error) => void }[] = [];
  const work = () => new Promise<number>((resolve, reject) => {
    const saw = state.value;
    runs.push({ saw, end: (error) => (error ? reject(error) : resolve(saw)) });
  });
  return { runs, work };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshRun', () => {
  it('answers a call made during a run with the next run, which sees what changed before the call', async () => {
    const state = { value: 1 };
    const { runs, work } = gatedWork(state);
    const fresh = new FreshRun(work);
    const first = fresh.run();
    state.value = 2; // changed after the first run read
    const second = fresh.run();
    const third = fresh.run();
    expect(runs.length).toBe(1);
    runs[0].end();
    expect(await first).toBe(1);
    await tick();
    // One follow-up for both calls, started after the first ended.
    expect(runs.length).toBe(2);
    runs[1].end();
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    // Idle again: a call starts a run at once.
    const fourth = fresh.run();
    expect(runs.length).toBe(3);
    runs[2].end();
    expect(await fourth).toBe(2);
  });

  it('runs the follow-up even when the run under way fails, and reports each run\'s own failure', async () => {
    const state = { value: 1 };
    const { runs, work } = gatedWork(state);
    const fresh = new FreshRun(work);
    const first = fresh.run();
    const second = fresh.run();
    runs[0].end(new Error('database gone'));
    await expect(first).rejects.toThrow('database gone');
    await tick();
    expect(runs.length).toBe(2);
    runs[1].end();
    expect(await second).toBe(1);
  });
});
