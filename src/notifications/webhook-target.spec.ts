import { LookupAddress } from 'node:dns';
import { addressRange, checkWebhookUrl, guardedLookup, WebhookTargetRefused } from './webhook-target';

/** A resolver that answers the given addresses for any name (a stub of DNS: the guard is what is tested). */
const resolvingTo = (...addresses: string[]) => (_host: string, _options: unknown, callback: (e: Error | null, a: LookupAddress[]) => void) =>
  callback(null, addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

describe('webhook targets: public addresses only (SSRF defence, DESIGN §3.6)', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'], ['::1', 'loopback'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'], ['fe80::1', 'linkLocal'], ['fd12:3456::1', 'uniqueLocal'], ['fc00::1', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:169.254.169.254', 'linkLocal'], ['::ffff:10.0.0.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'], ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'], ['64:ff9b::7f00:1', 'rfc6052'], ['2002:7f00:1::', '6to4'], ['not an address', 'invalid'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressRange(address)).toEqual({ allowed: false, range });
  });

  it.each(['8.8.8.8', '2001:4860:4860::8888', '::ffff:8.8.8.8', '172.32.0.1'])('allows the public address %s', (address) => {
    expect(addressRange(address).allowed).toBe(true);
  });

  it('checks a URL: https only, no credentials, and every address the host resolves to', async () => {
    const publicDns = resolvingTo('8.8.8.7');
    await expect(checkWebhookUrl('https://hooks.caf.example/x?y=1', false, publicDns)).resolves.toHaveProperty('href', 'https://hooks.caf.example/x?y=1');
    for (const [url, reason] of [['http://hooks.caf.example/', /https:\/\//], ['ftp://x/', /https:\/\//], ['pas une url', /absolute https/],
      ['https://user:pw@hooks.caf.example/', /credentials/], ['https://127.0.0.1/', /127\.0\.0\.1, a loopback address/],
      ['https://[::ffff:127.0.0.1]/', /loopback/], ['https://169.254.169.254/latest/meta-data', /linkLocal/]] as const) {
      await expect(checkWebhookUrl(url, false, publicDns)).rejects.toThrow(reason);
    }
    // A name with one good and one private address is refused: the connection could go to either.
    await expect(checkWebhookUrl('https://hooks.caf.example/', false, resolvingTo('8.8.8.8', '10.0.0.5')))
      .rejects.toThrow('hooks.caf.example resolves to 10.0.0.5, a private address');
    await expect(checkWebhookUrl('https://localhost/', true, resolvingTo('127.0.0.1'))).resolves.toBeInstanceOf(URL);
    const failing = (_h: string, _o: unknown, callback: (e: Error | null, a: LookupAddress[]) => void) => callback(new Error('ENOTFOUND'), []);
    await expect(checkWebhookUrl('https://nowhere.invalid/', false, failing)).rejects.toMatchObject({ code: 'unresolvable' });
  });

  it('refuses the connection itself when the name resolves to a private address at delivery (DNS rebinding)', async () => {
    const lookup = (resolver: ReturnType<typeof resolvingTo>, all: boolean) => new Promise<unknown[]>((resolve) =>
      (guardedLookup(false, resolver) as unknown as (h: string, o: object, cb: (...a: unknown[]) => void) => void)(
        'hooks.caf.example', { all }, (...args) => resolve(args)));
    const [refused] = await lookup(resolvingTo('127.0.0.1'), false);
    expect(refused).toBeInstanceOf(WebhookTargetRefused);
    expect(refused).toMatchObject({ code: 'address_refused' });
    expect(await lookup(resolvingTo('8.8.8.8'), false)).toEqual([null, '8.8.8.8', 4]);
    expect(await lookup(resolvingTo('8.8.8.8', '2001:4860:4860::8888'), true)).toEqual([null, [{ address: '8.8.8.8', family: 4 },
      { address: '2001:4860:4860::8888', family: 6 }]]);
  });
});
