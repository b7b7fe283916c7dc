import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { createTestDatabase } from '../test/support/database';
import { readFileSync } from 'node:fs';
import { answerEnd, checkpoint, databaseCpuBetween, databaseUsage, histogramBuckets, inMemory, median, pace, processCpuSeconds, quantileBetween,
  sampleWaits } from './support';

const scrape = (counts: number[]) => [
  '# TYPE w histogram',
  ...[0.001, 0.01, 0.1].map((le, i) => `w_bucket{le="${le}"} ${counts[i]}`),
  `w_bucket{le="+Inf"} ${counts[3]}`, `w_sum 1`, `w_count ${counts[3]}`,
  'other_bucket{le="0.001"} 99',
].join('\n');

describe('bench support', () => {
  it('reads one histogram\'s cumulative buckets from a scrape, and no other metric\'s', () => {
    expect(histogramBuckets(scrape([1, 2, 3, 4]), 'w')).toEqual([[0.001, 1], [0.01, 2], [0.1, 3], [Infinity, 4]]);
    expect(histogramBuckets(scrape([1, 2, 3, 4]), 'missing')).toEqual([]);
  });

  it('interpolates a quantile of what was observed between two scrapes', () => {
    const before = histogramBuckets(scrape([10, 10, 10, 10]), 'w');
    // 100 new observations: 50 under 1 ms, 40 between 1 and 10 ms, 10 between 10 and 100 ms.
    const after = histogramBuckets(scrape([60, 100, 110, 110]), 'w');
    expect(quantileBetween(before, after, 0.5)).toBeCloseTo(0.001);
    expect(quantileBetween(before, after, 0.7)).toBeCloseTo(0.001 + 0.009 * (20 / 40));
    expect(quantileBetween(before, after, 0.99)).toBeCloseTo(0.01 + 0.09 * (9 / 10));
    expect(quantileBetween(before, before, 0.99)).toBe(0);
  });

  it('answers the last finite bound when the quantile falls beyond it', () => {
    const before = histogramBuckets(scrape([0, 0, 0, 0]), 'w');
    expect(quantileBetween(before, histogramBuckets(scrape([0, 0, 1, 100]), 'w'), 0.99)).toBe(0.1);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('finds where an answer ends, with a Content-Length or chunked, and waits for the rest of an incomplete one', () => {
    const sized = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1');
    expect(answerEnd(sized)).toEqual({ end: sized.length - 8, status: 200 });
    expect(answerEnd(sized.subarray(0, 40))).toBeUndefined();
    const chunked = Buffer.from('HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n');
    expect(answerEnd(chunked)).toEqual({ end: chunked.length, status: 404 });
    for (const cut of [20, 60, 70, chunked.length - 1]) expect(answerEnd(chunked.subarray(0, cut))).toBeUndefined();
    expect(() => answerEnd(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nx'))).toThrow(/neither/);
  });

  describe('pace, against a real HTTP server', () => {
    let server: Server;
    let origin: string;
    const seen: string[] = [];
    beforeAll(async () => {
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk));
        request.on('end', () => {
          seen.push(`${request.headers.authorization} ${body}`);
          if (request.url === '/sized') return response.writeHead(200, { 'content-length': 2 }).end('ok');
          if (request.url === '/broken') return request.socket.destroy();
          response.writeHead(404); // chunked, written in two parts a moment apart
          response.write('not ');
          setTimeout(() => response.end('found'), 2);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('sends every request at the rate asked, with its headers and body, and times each answer', async () => {
      seen.length = 0;
      const load = await pace({ url: `${origin}/sized`, body: '{"a":1}', headers: { authorization: 'Bearer t' }, connections: 4, seconds: 0.5, rate: 200 });
      expect(load).toMatchObject({ errors: 0, non2xx: 0 });
      expect(seen).toHaveLength(100);
      expect(new Set(seen)).toEqual(new Set(['Bearer t {"a":1}']));
      expect(load.rps).toBeGreaterThan(150);
      expect(load.p99).toBeGreaterThan(0);
    });

    it('reads chunked answers split across packets, and counts non-2xx ones', async () => {
      const load = await pace({ url: `${origin}/chunked`, body: '{}', headers: {}, connections: 2, seconds: 0.2, rate: 100 });
      expect(load).toMatchObject({ errors: 0, non2xx: 20 });
    });

    it('counts a request whose connection drops as an error, and still finishes', async () => {
      // One connection and requests due faster than it fails: those queued behind it must go out on new ones.
      const load = await pace({ url: `${origin}/broken`, body: '{}', headers: {}, connections: 1, seconds: 0.0025, rate: 20_000 });
      expect(load).toMatchObject({ errors: 50, non2xx: 0 });
    });
  });

  it('samples what the backends running one statement wait for, until told to stop', async () => {
    const database = await createTestDatabase();
    const busy = new Client({ connectionString: database.url });
    await busy.connect();
    try {
      const sleeping = busy.query('SELECT pg_sleep(0.3)');
      const waits = await sampleWaits(database.url, 'SELECT pg_sleep(', sleeping);
      expect(waits.samples).toBeGreaterThan(5); // every 10 ms while the statement ran
      // Asleep: a Timeout wait, no WAL flush; a sample may still catch the statement starting on CPU on a busy machine.
      expect(waits.walFlush).toBe(0);
      expect(waits.cpu).toBeLessThan(0.25);
      expect((await sampleWaits(database.url, 'SELECT nothing_runs(', Promise.resolve())).samples).toBe(0);
    } finally {
      await busy.end();
      await database.drop();
    }
  });

  it('writes out what the database holds dirty before a phase, and says why when the role may not', async () => {
    const database = await createTestDatabase();
    const admin = new Client({ connectionString: database.url });
    await admin.connect();
    const role = `bench_reader_${process.pid}`;
    try {
      await admin.query('CREATE TABLE dirty AS SELECT g AS n FROM generate_series(1, 10000) g');
      const redo = async () => (await admin.query('SELECT redo_lsn::text AS lsn FROM pg_control_checkpoint()')).rows[0].lsn as string;
      const before = await redo();
      expect(await checkpoint(database.url)).toEqual({ ms: expect.any(Number) });
      // A new checkpoint moved the redo point past the table just written: it is on disk.
      const after = (await admin.query('SELECT $1::pg_lsn > $2::pg_lsn AS moved', [await redo(), before])).rows[0];
      expect(after.moved).toBe(true);
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'not-a-superuser'`);
      const url = Object.assign(new URL(database.url), { username: role, password: 'not-a-superuser' }).toString();
      expect(await checkpoint(url)).toEqual({ refused: '42501' }); // insufficient_privilege
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
      await database.drop();
    }
  });

  it('tells a folder in memory (tmpfs) from one on a disk, as the mount table says', () => {
    // What the kernel lists as mounted, read independently of statfs(2): each mount point with its file system type.
    const mounts = readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((line) => line.split(' '))
      .map(([, point, type]) => ({ point: point.replace(/\\040/g, ' '), type }));
    const memory = mounts.find((m) => m.point === '/dev/shm' && m.type === 'tmpfs') ?? mounts.find((m) => m.type === 'tmpfs');
    const disk = mounts.find((m) => m.point === '/' && ['ext4', 'xfs', 'btrfs'].includes(m.type))
      ?? mounts.find((m) => ['ext4', 'xfs', 'btrfs'].includes(m.type));
    expect(memory ?? disk).toBeDefined();
    if (memory) expect(inMemory(memory.point)).toBe(true);
    if (disk) expect(inMemory(disk.point)).toBe(false);
  });
});

describe('processCpuSeconds', () => {
  it("reads a process's CPU time from /proc, and it grows while the process computes", () => {
    const before = processCpuSeconds(process.pid);
    // 200 ms of this process's own CPU time (not of the wall clock, which a busy machine stretches).
    const start = process.cpuUsage();
    let spin = 0;
    for (let used = 0; used < 200_000; spin++) {
      const { user, system } = process.cpuUsage(start);
      used = user + system;
    }
    const after = processCpuSeconds(process.pid);
    expect(spin).toBeGreaterThan(0);
    expect(after - before).toBeGreaterThanOrEqual(0.1);
    expect(after - before).toBeLessThan(5);
  });
});

describe('databaseUsage', () => {
  it("counts the CPU each of the database's processes used by role, and the WAL written, between two readings", async () => {
    const database = await createTestDatabase();
    const observer = new Client({ connectionString: database.url });
    const busy = new Client({ connectionString: database.url, application_name: 'bench-busy' });
    await Promise.all([observer.connect(), busy.connect()]);
    try {
      const before = await databaseUsage(observer);
      expect([...before.cpu.values()].map((p) => p.role)).toEqual(expect.arrayContaining(['bench-busy', 'walwriter']));
      // ~300 ms of one backend's CPU, and a table's worth of WAL.
      await busy.query('DO $$ BEGIN WHILE clock_timestamp() < statement_timestamp() + interval \'300 ms\' LOOP END LOOP; END $$');
      await busy.query('CREATE TABLE written AS SELECT g AS n FROM generate_series(1, 100000) g');
      const after = await databaseUsage(observer);
      const byRole = databaseCpuBetween(before, after);
      expect(byRole.get('bench-busy')).toBeGreaterThanOrEqual(0.2);
      expect(byRole.get('bench-busy')).toBeLessThan(5);
      // The observer's own backend is left out: it is not what is measured.
      expect([...after.cpu.keys()]).not.toContain((await observer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      expect(after.walBytes - before.walBytes).toBeGreaterThan(100000 * 28); // a heap tuple of an int is 28 bytes and more
    } finally {
      await Promise.all([observer.end(), busy.end()]);
      await database.drop();
    }
  });
});
