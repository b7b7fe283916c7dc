import { AppConfig, loadConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { PartnerDirectory } from './partner-directory';

const ROW = { id: 'p1', name: 'CCAS', status: 'active', scopes: ['droits.c2s'], recipients: ['21690123100011'], rate_limit_per_second: 5 };

describe('PartnerDirectory', () => {
  const config: AppConfig = loadConfig({});
  let now = 1_000_000;
  let reachable = true;
  const db = { rows: async () => { if (!reachable) throw new Error('down'); return [ROW]; } } as unknown as Database;
  let directory: PartnerDirectory;

  beforeEach(async () => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    reachable = true;
    directory = new PartnerDirectory(db, config);
    await directory.onModuleInit();
  });
  afterEach(() => {
    directory.onModuleDestroy();
    jest.restoreAllMocks();
  });

  it('serves partners from memory', async () => {
    expect(await directory.get('p1')).toMatchObject({ status: 'active', rateLimitPerSecond: 5 });
  });

  it('keeps serving a recent copy while the database is briefly unreachable', async () => {
    reachable = false;
    now += 3000;
    expect(await directory.get('p1')).toMatchObject({ id: 'p1' });
  });

  it('refuses with 503 audit_unavailable once its copy is older than 5 seconds', async () => {
    reachable = false;
    now += 6000;
    await expect(directory.get('p1')).rejects.toMatchObject({ status: 503, code: 'audit_unavailable' });
  });

  it('applies a suspension made while a reload was under way once reload() resolves (the reload under way read before it)', async () => {
    let status = 'active';
    const held: (() => void)[] = [];
    let hold = false;
    const gated = { rows: async () => {
      const row = { ...ROW, status }; // read when the query runs
      if (hold) await new Promise<void>((resolve) => held.push(resolve));
      return [row];
    } } as unknown as Database;
    const fresh = new PartnerDirectory(gated, config);
    await fresh.onModuleInit();
    hold = true;
    const periodic = fresh.reload(); // the timer's reload, under way: it has read 'active'
    status = 'suspended'; // the operator's suspension commits
    hold = false;
    const afterChange = fresh.reload();
    held.shift()!();
    await periodic;
    await afterChange;
    expect(await fresh.get('p1')).toMatchObject({ status: 'suspended' });
    fresh.onModuleDestroy();
  });
});

