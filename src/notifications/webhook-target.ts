import { lookup as dnsLookup, LookupAddress, LookupAllOptions } from 'node:dns';
import { isIP, LookupFunction } from 'node:net';
import * as ipaddr from 'ipaddr.js';

/** How a webhook URL is refused: the problem's field reason, and the code kept as a delivery's last error. */
export class WebhookTargetRefused extends Error {
  constructor(readonly reason: string, readonly code: 'not_https' | 'address_refused' | 'unresolvable') {
    super(reason);
  }
}

/**
 * Whether a resolved address may receive webhooks (SSRF defence, DESIGN §3.6): only public unicast. Refused:
 * loopback, private (RFC 1918), link-local (the cloud metadata address 169.254.169.254 among them), unique-local,
 * carrier-grade NAT, multicast, reserved and unspecified ranges; an IPv4-mapped IPv6 address (::ffff:127.0.0.1) is
 * judged as the IPv4 address it carries, and the IPv6 transition ranges that embed one (NAT64, 6to4, Teredo) are
 * refused outright. ipaddr.js names the ranges.
 */
export function addressRange(address: string): { allowed: boolean; range: string } {
  if (!ipaddr.isValid(address)) return { allowed: false, range: 'invalid' };
  const range = ipaddr.process(address).range();
  return { allowed: range === 'unicast', range };
}

type Resolver = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `lookup` for http(s).request that resolves the name, then refuses the connection unless every address it
 * resolved to is allowed: the address checked is the address connected to, so a name that resolves elsewhere between
 * the check and the connection (DNS rebinding) gains nothing.
 */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = dnsLookup as unknown as Resolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    resolve(hostname, { family: options.family ?? 0, all: true } as LookupAllOptions, (error, addresses) => {
      if (error) return callback(error);
      const refused = allowPrivate ? undefined : addresses.find((a) => !addressRange(a.address).allowed);
      if (refused) return callback(refusal(hostname, refused.address));
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  }) as LookupFunction;
}

function refusal(host: string, address: string): WebhookTargetRefused {
  const range = addressRange(address).range;
  return new WebhookTargetRefused(`${host === address ? '' : `${host} resolves to `}${address}, a ${range} address: webhooks go to public addresses only`,
    'address_refused');
}

/**
 * Checks a webhook URL as at registration (and before each delivery): https only, no credentials in it, and a host
 * that resolves (now) to allowed addresses only. Answers the URL, normalised.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean, resolve: Resolver = dnsLookup as unknown as Resolver): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetRefused('must be an absolute https:// URL', 'not_https');
  }
  if (url.protocol !== 'https:') throw new WebhookTargetRefused('must be an https:// URL', 'not_https');
  if (url.username || url.password) throw new WebhookTargetRefused('must not carry credentials: the signature authenticates the gateway', 'not_https');
  if (url.hash) throw new WebhookTargetRefused('must not have a #fragment', 'not_https');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) {
    if (!allowPrivate && !addressRange(host).allowed) throw refusal(host, host);
    return url;
  }
  const addresses = await new Promise<LookupAddress[]>((done, fail) =>
    resolve(host, { all: true } as LookupAllOptions, (error, found) => (error ? fail(error) : done(found))))
    .catch(() => { throw new WebhookTargetRefused(`${host} does not resolve`, 'unresolvable'); });
  const refused = allowPrivate ? undefined : addresses.find((a) => !addressRange(a.address).allowed);
  if (refused) throw refusal(host, refused.address);
  return url;
}
