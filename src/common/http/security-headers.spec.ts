import helmet from 'helmet';
import { securityHeaders, SECURITY_HEADERS } from './security-headers';

describe('security headers', () => {
  it('are what helmet itself sets for the same options', () => {
    const set: Record<string, string> = {};
    helmet({ contentSecurityPolicy: false, xFrameOptions: { action: 'deny' } })({ headers: {} } as never,
      { setHeader: (k: string, v: string) => (set[k.toLowerCase()] = v), removeHeader: () => undefined } as never, () => undefined);
    expect(securityHeaders({ contentSecurityPolicy: false, xFrameOptions: { action: 'deny' } })).toEqual(set);
  });

  it('include nosniff, HSTS and no framing on every answer, and no content policy (the pages bring theirs)', () => {
    expect(SECURITY_HEADERS).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY',
      'strict-transport-security': 'max-age=31536000; includeSubDomains', 'referrer-policy': 'no-referrer' });
    expect(SECURITY_HEADERS).not.toHaveProperty('content-security-policy');
  });
});
