import { OutageLog } from './outage-log';

describe('OutageLog', () => {
  function subject() {
    const lines: string[] = [];
    let now = 0;
    const log = new OutageLog({ error: (line: string) => lines.push(`error ${line}`), log: (line: string) => lines.push(`log ${line}`) },
      'audit writer', 'entries', () => now);
    return { log, lines, tick: (ms: number) => (now += ms) };
  }

  it('logs the first failure of an outage once, then only its recovery with the count', () => {
    const { log, lines, tick } = subject();
    for (let i = 0; i < 15_000; i++) {
      log.failed(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 3);
      tick(1);
    }
    log.succeeded();
    log.succeeded();
    expect(lines).toEqual([
      'error audit writer failing: ECONNREFUSED; further failures are counted until it recovers',
      'log audit writer recovered: 15000 failed attempts (45000 entries) in 15 s',
    ]);
  });

  it('reminds once a minute while the outage lasts, and starts afresh after a recovery', () => {
    const { log, lines, tick } = subject();
    log.failed(new TypeError('boom'));
    tick(59_000);
    log.failed(new TypeError('boom'));
    tick(1_000);
    log.failed(new TypeError('boom'));
    log.succeeded();
    log.failed(new TypeError('boom'));
    expect(lines).toEqual([
      'error audit writer failing: TypeError; further failures are counted until it recovers',
      'error audit writer still failing (TypeError): 3 failed attempts (3 entries) in 60 s',
      'log audit writer recovered: 3 failed attempts (3 entries) in 60 s',
      'error audit writer failing: TypeError; further failures are counted until it recovers',
    ]);
    expect(log.failing).toBe(true);
  });
});
