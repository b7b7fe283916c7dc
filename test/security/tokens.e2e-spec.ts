import { createHmac } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { SigningKeys } from '../../src/auth/signing-keys';
import { basic, makeSiret, onboardPartner, OnboardedPartner, operatorToken, partnerToken, requestToken } from '../support/factories';
import { client } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens: OAuth2 client credentials, ES256 JWTs, JWKS (DESIGN §3.3)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let partner: OnboardedPartner;

  beforeAll(async () => {
    t = await startTestApp({ TOKEN_RATE_LIMIT_PER_MINUTE: '1000' });
    api = client(t.url);
    partner = await onboardPartner(t, { scopes: ['droits.ouverture', 'droits.c2s', 'droits.caisse'] });
  });
  afterAll(() => t.close());

  it('issues an ES256 JWT with kid, iss, aud, sub, scope, jti and a 10-minute expiry', async () => {
    const answer = await requestToken(t, partner, 'droits.ouverture droits.c2s');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600,
      scope: 'droits.ouverture droits.c2s' });
    const header = decodeProtectedHeader(answer.body.access_token);
    expect(header).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    const jwks = await api.get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: header.kid });
    expect(jwks.body.keys[0].d).toBeUndefined();
    const { payload } = await jwtVerify(answer.body.access_token, createLocalJWKSet(jwks.body), {
      issuer: t.config.token.issuer, audience: t.config.token.audience, currentDate: t.clock.now() });
    expect(payload).toMatchObject({ sub: partner.partnerId, scope: 'droits.ouverture droits.c2s', jti: expect.any(String) });
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('accepts client credentials in the form body as well as by HTTP Basic', async () => {
    const answer = await api.send('POST', '/oauth/token', {
      raw: new URLSearchParams({ grant_type: 'client_credentials', client_id: partner.clientId,
        client_secret: partner.clientSecret }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.status).toBe(200);
  });

  it('grants every approved scope when none is asked for', async () => {
    const answer = await requestToken(t, partner);
    expect(answer.body.scope.split(' ').sort()).toEqual(['droits.c2s', 'droits.caisse', 'droits.ouverture']);
  });

  it('lets the token open /v1/me', async () => {
    const token = await partnerToken(t, partner, 'droits.c2s');
    const me = await api.get('/v1/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ partner_id: partner.partnerId, status: 'active', token_scopes: ['droits.c2s'],
      scopes: expect.arrayContaining(['droits.c2s', 'droits.ouverture', 'droits.caisse']) });
  });

  it('refuses a scope not granted at approval with invalid_scope', async () => {
    const answer = await requestToken(t, partner, 'droits.ouverture droits.identite');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'invalid_scope', code: 'invalid_scope' });
  });

  it('refuses an unknown scope with invalid_scope', async () => {
    const answer = await requestToken(t, partner, 'droits.tout');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_scope');
  });

  it('refuses another grant type with unsupported_grant_type', async () => {
    const answer = await api.send('POST', '/oauth/token', {
      raw: 'grant_type=password&username=a&password=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret) },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('unsupported_grant_type');
  });

  it('gives a wrong secret and an unknown client the same answer, in similar time', async () => {
    const timed = async (clientId: string, secret: string) => {
      const started = process.hrtime.bigint();
      const answer = await requestToken(t, { clientId, clientSecret: secret });
      return { answer, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };
    const samples = { wrong: [] as number[], unknown: [] as number[] };
    let wrong, unknown;
    for (let i = 0; i < 8; i++) {
      wrong = await timed(partner.clientId, 'not-the-secret');
      unknown = await timed('cnam-000000000000000000000000', 'not-the-secret');
      samples.wrong.push(wrong.ms);
      samples.unknown.push(unknown.ms);
    }
    expect(wrong!.answer.status).toBe(401);
    expect(unknown!.answer.status).toBe(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
    expect(strip(wrong!.answer.body)).toEqual(strip(unknown!.answer.body));
    // Both pay one scrypt: an unknown client must not answer in a fraction of a known client's time. The fastest of
    // each is compared: a busy machine only ever adds time, so the minimum is the cost itself.
    const fastest = (values: number[]) => Math.min(...values);
    expect(fastest(samples.unknown)).toBeGreaterThan(fastest(samples.wrong) * 0.5);
    expect(fastest(samples.wrong)).toBeGreaterThan(fastest(samples.unknown) * 0.5);
  });

  it('refuses a request without client authentication with invalid_client', async () => {
    const answer = await api.send('POST', '/oauth/token', {
      raw: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(answer.body.error).toBe('invalid_client');
  });

  it('refuses credentials given twice (Basic and form) with invalid_request', async () => {
    const answer = await api.send('POST', '/oauth/token', {
      raw: `grant_type=client_credentials&client_id=${partner.clientId}&client_secret=x`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret) },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
  });

  describe('a token the gateway did not issue is refused with 401', () => {
    let jwks: { keys: Record<string, string>[] };
    let valid: string;
    beforeAll(async () => {
      jwks = (await api.get('/.well-known/jwks.json')).body;
      valid = await partnerToken(t, partner);
    });

    const expectRefused = async (token: string, code = 'invalid_token') => {
      const answer = await api.get('/v1/me', { token });
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe(code);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    };

    const claims = () => ({ iss: t.config.token.issuer, aud: t.config.token.audience, sub: partner.partnerId,
      scope: 'droits.ouverture', jti: 'forged', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });

    it('no token at all', async () => {
      const answer = await api.get('/v1/me');
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('token_missing');
    });

    it('garbage', () => expectRefused('not.a.jwt'));

    it('alg none', () => expectRefused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`));

    it('HS256 signed with the public key', async () => {
      const publicJwk = jwks.keys[0];
      const header = b64url({ alg: 'HS256', typ: 'JWT', kid: publicJwk.kid });
      const body = b64url(claims());
      for (const secret of [JSON.stringify(publicJwk), publicJwk.x, Buffer.from(JSON.stringify(publicJwk))]) {
        const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
        await expectRefused(`${header}.${body}.${signature}`);
      }
    });

    it('signed by an unknown key', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'attacker' }).sign(privateKey);
      await expectRefused(token);
    });

    it('signed by an unknown key claiming the gateway kid', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0].kid }).sign(privateKey);
      await expectRefused(token);
    });

    it('with a tampered payload', async () => {
      const [header, , signature] = valid.split('.');
      await expectRefused(`${header}.${b64url({ ...claims(), scope: 'droits.identite' })}.${signature}`);
    });

    it('with a wrong audience or issuer', async () => {
      const signer = t.app.get(SigningKeys).signer();
      for (const change of [{ aud: 'another-api' }, { iss: 'https://evil.example' }]) {
        const token = await new SignJWT({ ...claims(), ...change })
          .setProtectedHeader({ alg: 'ES256', kid: signer.kid }).sign(signer.privateKey);
        await expectRefused(token);
      }
    });

    it('expired', async () => {
      const token = await partnerToken(t, partner);
      expect((await api.get('/v1/me', { token })).status).toBe(200);
      t.clock.advance(601_000);
      try {
        await expectRefused(token, 'token_expired');
      } finally {
        t.clock.advance(-601_000);
      }
    });

    it('not yet valid (nbf in the future), though signed by the gateway\'s key', async () => {
      const signer = t.app.get(SigningKeys).signer();
      const token = await new SignJWT({ ...claims(), nbf: Math.floor(Date.now() / 1000) + 300 })
        .setProtectedHeader({ alg: 'ES256', kid: signer.kid }).sign(signer.privateKey);
      await expectRefused(token);
    });

    it('of a partner revoked since it was issued, though valid in every other way', async () => {
      const other = await onboardPartner(t, { organisation: { name: 'CCAS de Givors', siret: makeSiret('2169009160001') } });
      const token = await partnerToken(t, other);
      expect((await api.get('/v1/me', { token })).status).toBe(200);
      const operator = await operatorToken(t);
      expect((await api.post(`/admin/api/partners/${other.partnerId}/revoke`, { reason: 'Convention résiliée' }, { token: operator })).status).toBe(200);
      let answer = await api.get('/v1/me', { token });
      for (let i = 0; i < 60 && answer.status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await api.get('/v1/me', { token });
      }
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('partner_inactive');
    });

    it('sent to a route that is not for partners (the operator API)', async () => {
      const answer = await api.get('/admin/api/partners', { token: valid });
      expect(answer.status).toBe(401);
      expect(answer.body.code).toBe('invalid_session');
    });
  });

  it('keeps the old secret working during the grace period after a rotation, then refuses it', async () => {
    const rotated = await api.post(`/admin/api/partners/${partner.partnerId}/credentials`, undefined, { token: partner.operator });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ client_id: partner.clientId, client_secret: expect.any(String) });
    expect(rotated.body.client_secret).not.toBe(partner.clientSecret);
    const fresh = { clientId: partner.clientId, clientSecret: rotated.body.client_secret };
    expect((await requestToken(t, partner)).status).toBe(200);
    expect((await requestToken(t, fresh)).status).toBe(200);
    t.clock.advance((t.config.credentialGraceSeconds + 1) * 1000);
    try {
      expect((await requestToken(t, partner)).status).toBe(401);
      expect((await requestToken(t, fresh)).status).toBe(200);
    } finally {
      t.clock.advance(-(t.config.credentialGraceSeconds + 1) * 1000);
    }
    partner.clientSecret = fresh.clientSecret;
  });

  it('stores client secrets only as scrypt hashes', async () => {
    const rows = await t.sql<{ secret_hash: string }>('SELECT secret_hash FROM partner_secrets WHERE partner_id = $1', [partner.partnerId]);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.secret_hash).toMatch(/^scrypt\$/);
      expect(row.secret_hash).not.toContain(partner.clientSecret);
    }
  });

  it('rotates the signing key and keeps the old public key published until its tokens have expired', async () => {
    const before = await partnerToken(t, partner);
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await t.app.get(SigningKeys).rotate();
    expect(newKid).not.toBe(oldKid);
    const after = await partnerToken(t, partner);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    const kids = (await api.get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await api.get('/v1/me', { token: before })).status).toBe(200);
    t.clock.advance((t.config.token.ttlSeconds + 61) * 1000);
    try {
      const later = (await api.get('/.well-known/jwks.json')).body.keys.map((k: { kid: string }) => k.kid);
      expect(later).toEqual([newKid]);
    } finally {
      t.clock.advance(-(t.config.token.ttlSeconds + 61) * 1000);
    }
  });

  it('keeps signing private keys encrypted in the database', async () => {
    const rows = await t.sql<{ private_key_encrypted: string }>('SELECT private_key_encrypted FROM signing_keys');
    for (const row of rows) {
      expect(row.private_key_encrypted).toMatch(/^v1\./);
      expect(row.private_key_encrypted).not.toContain('"d"');
    }
  });
});

describe('token endpoint rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TOKEN_RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After once a client exceeds its token requests per minute', async () => {
    const partner = await onboardPartner(t);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await requestToken(t, partner)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await requestToken(t, partner);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another client is not affected.
    const other = await onboardPartner(t, { organisation: { name: 'CAF du Rhône', siret: '21690123100011' } });
    expect((await requestToken(t, other)).status).toBe(200);
  });
});
