import { NoTurnLeft, Turns } from './turns';

/** A piece of work that ends when the test says so, recording when it started. */
function gate(log: string[], name: string) {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    open = () => resolve(name);
    fail = reject;
  });
  return { work: () => { log.push(name); return done; }, open, fail };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Turns', () => {
  it('runs at most `limit` at once, the others in arrival order', async () => {
    const turns = new Turns(2);
    const log: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((name) => gate(log, name));
    const results = gates.map((g) => turns.run(g.work));
    await tick();
    expect(log).toEqual(['a', 'b']);
    expect(turns.waiting()).toBe(2);
    gates[1].open();
    await tick();
    expect(log).toEqual(['a', 'b', 'c']);
    gates[0].open();
    await tick();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    gates[2].open();
    gates[3].open();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect(turns.waiting()).toBe(0);
  });

  it('refuses one more than `maxWaiting` at once, and takes work again once the line moves', async () => {
    const turns = new Turns(1, 2);
    const log: string[] = [];
    const gates = ['a', 'b', 'c'].map((name) => gate(log, name));
    const results = gates.map((g) => turns.run(g.work));
    await expect(turns.run(async () => 'd')).rejects.toBeInstanceOf(NoTurnLeft);
    gates[0].open();
    await tick();
    expect(turns.waiting()).toBe(1);
    const e = turns.run(async () => 'e');
    for (const g of gates) g.open();
    expect(await Promise.all([...results, e])).toEqual(['a', 'b', 'c', 'e']);
  });

  it('gives the turn of a failed piece of work to the next', async () => {
    const turns = new Turns(1);
    const log: string[] = [];
    const first = gate(log, 'a');
    const failed = turns.run(first.work);
    const next = turns.run(async () => 'b');
    first.fail(new Error('boom'));
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('b');
    expect(await turns.run(async () => 'c')).toBe('c');
  });

  it('lets work whose caller gave up leave the line, and refuses work already given up', async () => {
    const turns = new Turns(1);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => gate(log, name));
    const first = turns.run(a.work);
    const gaveUp = new AbortController();
    const second = turns.run(b.work, gaveUp.signal);
    const third = turns.run(c.work, new AbortController().signal);
    expect(turns.waiting()).toBe(2);
    gaveUp.abort(new Error('client gone'));
    await expect(second).rejects.toThrow('client gone');
    expect(turns.waiting()).toBe(1);
    a.open();
    await tick();
    // The turn went to the third: the second never started.
    expect(log).toEqual(['a', 'c']);
    c.open();
    expect(await Promise.all([first, third])).toEqual(['a', 'c']);
    await expect(turns.run(async () => 'd', AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
    // Nothing was left holding a turn.
    expect(await turns.run(async () => 'e')).toBe('e');
    expect(turns.waiting()).toBe(0);
  });
});
