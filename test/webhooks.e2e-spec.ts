import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AuditSealer } from '../src/audit/audit-sealer';
import { CheckpointBroadcast } from '../src/notifications/checkpoint-broadcast';
import { WebhookDelivery } from '../src/notifications/webhooks';
import { makeSiret, onboardPartner, OnboardedPartner, operatorToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

/** A certificate for localhost and 127.0.0.1 made for these tests only, trusted by the gateway through WEBHOOK_CA_FILE. */
const FIXTURES = join(__dirname, 'fixtures');
const CA_FILE = join(FIXTURES, 'webhook-receiver.cert.pem');

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Whether X-Signature-256 verified under the secret the receiver was given, as a partner's receiver would check it. */
  verified: boolean;
}

/**
 * A partner's receiver on loopback, over real HTTPS: verifies each signature the way docs/partners.md tells partners to
 * (HMAC-SHA-256 of "<X-Timestamp>.<body>", constant-time comparison, timestamp within 5 minutes of its own clock), and
 * answers what the test scripts (a status, a redirect, or nothing at all).
 */
async function startReceiver() {
  const received: Received[] = [];
  let secret = '';
  let script: Array<'ok' | 'fail' | 'redirect' | 'hang'> = [];
  let now = () => Date.now();
  const server: Server = createServer({ key: readFileSync(join(FIXTURES, 'webhook-receiver.key.pem')), cert: readFileSync(CA_FILE) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-timestamp']);
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-signature-256']));
      const fresh = Math.abs(now() / 1000 - Number(timestamp)) <= 300;
      received.push({ path: req.url ?? '', headers: req.headers, body, verified: fresh && given.length === expected.length && timingSafeEqual(given, expected) });
      const next = script.shift() ?? 'ok';
      if (next === 'hang') return; // never answers: the gateway gives up after 10 s
      if (next === 'redirect') return res.writeHead(302, { location: '/elsewhere' }).end();
      res.writeHead(next === 'ok' ? 204 : 500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received, port: (server.address() as AddressInfo).port,
    useSecret: (value: string) => (secret = value),
    answer: (...steps: typeof script) => (script = steps),
    clock: (fn: () => number) => (now = fn),
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Webhooks (DESIGN §3.6): registered by an operator, signed, retried for 24 h, never sent to a private address unless allowed. */
describe('webhooks', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let operator: string;
  let partner: OnboardedPartner;
  const deliver = () => t.app.get(WebhookDelivery).deliverDue();
  const events = () => t.sql<{ id: string; type: string; status: string; attempts: number; last_error: string | null; next_attempt_at: Date }>(
    'SELECT id, type, status, attempts, last_error, next_attempt_at FROM webhook_events WHERE partner_id = $1 ORDER BY occurred_at, id', [partner.partnerId]);
  const eventOf = async (type: string) => (await events()).filter((e) => e.type === type).pop()!;
  const hookUrl = () => `https://localhost:${receiver.port}/hooks/cnam`;
  const lifecycle = async (action: string) =>
    expect((await api.post(`/admin/api/partners/${partner.partnerId}/${action}`, { reason: 'Contrôle annuel' }, { token: operator })).status).toBe(200);

  beforeAll(async () => {
    receiver = await startReceiver();
    t = await startTestApp({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_CA_FILE: CA_FILE, AUDIT_CHECKPOINT_EVERY: '1' });
    receiver.clock(() => t.clock.now().getTime());
    api = client(t.url);
    operator = await operatorToken(t);
    partner = await onboardPartner(t, { organisation: { name: 'CAF du Rhône', siret: makeSiret('2169012310001') } });
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('registers a webhook: the secret is shown once, the URL in the partner detail, the action traced', async () => {
    const answer = await api.send('PUT', `/admin/api/partners/${partner.partnerId}/webhook`, { body: { url: hookUrl() }, token: operator });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ url: hookUrl(), secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/) });
    receiver.useSecret(answer.body.secret);
    const detail = await api.get(`/admin/api/partners/${partner.partnerId}`, { token: operator });
    expect(detail.body.webhook).toMatchObject({ url: hookUrl(), pending: 0, failed: 0, last_delivered_at: null });
    expect(JSON.stringify(detail.body)).not.toContain(answer.body.secret);
    expect(detail.body.actions.map((a: { action: string }) => a.action)).toContain('partner.webhook_registered');
    const [stored] = await t.sql<{ secret_encrypted: string }>('SELECT secret_encrypted FROM partner_webhooks');
    expect(stored.secret_encrypted).not.toContain(answer.body.secret.slice(6));
  });

  it('POSTs each notification as signed JSON, with its event id, type and timestamp', async () => {
    await lifecycle('suspend');
    expect(await deliver()).toBe(1);
    const [delivery] = receiver.received.splice(0);
    expect(delivery.verified).toBe(true);
    expect(delivery.path).toBe('/hooks/cnam');
    const [event] = await events();
    expect(event).toMatchObject({ type: 'partner.suspended', status: 'delivered', attempts: 1, last_error: null });
    expect(delivery.headers).toMatchObject({ 'content-type': 'application/json', 'x-event-id': event.id, 'x-event-type': 'partner.suspended',
      'x-timestamp': String(Math.floor(t.clock.now().getTime() / 1000)) });
    expect(JSON.parse(delivery.body)).toEqual({ id: event.id, type: 'partner.suspended', occurred_at: expect.any(String), partner_id: partner.partnerId,
      data: { reason: 'Contrôle annuel', partner: 'CAF du Rhône' } });
    expect(await deliver()).toBe(0); // delivered once
  });

  it('retries a failed delivery with backoff under the same event id, and a redirect is a failure, never followed', async () => {
    receiver.answer('fail', 'redirect', 'ok');
    await lifecycle('reactivate');
    expect(await deliver()).toBe(0);
    let event = await eventOf('partner.reactivated');
    expect(event).toMatchObject({ status: 'pending', attempts: 1, last_error: 'http_500' });
    expect(event.next_attempt_at.getTime() - t.clock.now().getTime()).toBe(30_000);
    expect(await deliver()).toBe(0); // not due yet
    t.clock.advance(30_000);
    expect(await deliver()).toBe(0);
    event = await eventOf('partner.reactivated');
    expect(event).toMatchObject({ status: 'pending', attempts: 2, last_error: 'redirect_not_followed_302' });
    expect(event.next_attempt_at.getTime() - t.clock.now().getTime()).toBe(60_000);
    t.clock.advance(60_000);
    expect(await deliver()).toBe(1);
    expect(receiver.received.map((r) => [r.path, r.headers['x-event-id'], r.verified])).toEqual([
      ['/hooks/cnam', event.id, true], ['/hooks/cnam', event.id, true], ['/hooks/cnam', event.id, true]]);
    receiver.received.splice(0);
    expect(await eventOf('partner.reactivated')).toMatchObject({ status: 'delivered', attempts: 3, last_error: null });
  });

  it('carries the latest signed checkpoint to the partner, as audit:verify --checkpoint reads it', async () => {
    await t.app.get(AuditSealer).sealPending();
    await t.app.get(CheckpointBroadcast).broadcastNow();
    expect(await deliver()).toBe(1);
    const [delivery] = receiver.received.splice(0);
    expect(delivery.verified).toBe(true);
    const [checkpoint] = await t.sql<{ seq: string; hash: string }>('SELECT seq::text, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
    expect(JSON.parse(delivery.body)).toMatchObject({ type: 'audit.checkpoint',
      data: { checkpoint: { seq: Number(checkpoint.seq), hash: checkpoint.hash, signature: expect.any(String), key_id: expect.any(String) } } });
  });

  it('gives up on a receiver that does not answer within 10 s, and on an event after 24 h of retries', async () => {
    receiver.answer('hang');
    await api.post(`/admin/api/partners/${partner.partnerId}/credentials`, {}, { token: operator });
    const started = Date.now();
    expect(await deliver()).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    let event = await eventOf('credentials.rotated');
    expect(event).toMatchObject({ status: 'pending', last_error: 'timeout' });
    receiver.answer('fail', 'fail');
    t.clock.advance(23 * 3600_000);
    expect(await deliver()).toBe(0);
    event = await eventOf('credentials.rotated');
    expect(event).toMatchObject({ status: 'pending', attempts: 2, last_error: 'http_500' });
    t.clock.advance(3600_000);
    expect(await deliver()).toBe(0);
    event = await eventOf('credentials.rotated');
    expect(event).toMatchObject({ status: 'failed', attempts: 3, last_error: 'http_500' });
    operator = await operatorToken(t); // a day later: the operator's session has expired
    const detail = await api.get(`/admin/api/partners/${partner.partnerId}`, { token: operator });
    expect(detail.body.webhook).toMatchObject({ failed: 1, pending: 0, last_error: 'http_500' });
    receiver.received.splice(0);
  }, 30_000);

  it('refuses private and loopback targets without WEBHOOK_ALLOW_PRIVATE, at registration and at every delivery', async () => {
    // A second instance on the same database, configured as in production.
    const strict = await startTestApp({ WEBHOOK_CA_FILE: CA_FILE }, { databaseUrl: t.databaseUrl });
    strict.clock.set(t.clock.now());
    try {
      const strictApi = client(strict.url);
      const token = await operatorToken(strict);
      for (const [url, reason] of [[hookUrl(), /localhost resolves to (127\.0\.0\.1|::1), a loopback address/],
        [`https://127.0.0.1:${receiver.port}/`, /127\.0\.0\.1, a loopback address/], ['https://169.254.169.254/latest/meta-data/', /linkLocal/],
        ['https://[::ffff:127.0.0.1]/', /loopback/], ['https://10.0.0.8/hook', /private/], [`http://localhost:${receiver.port}/`, /https:\/\//]]) {
        const answer = await strictApi.send('PUT', `/admin/api/partners/${partner.partnerId}/webhook`, { body: { url }, token });
        expect(answer.status).toBe(400);
        expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(answer.body).toMatchObject({ code: 'invalid_request', errors: [{ field: 'url', reason: expect.stringMatching(reason) }] });
      }
      // The webhook registered where it was allowed is not delivered by the strict instance.
      await lifecycle('suspend');
      expect(await strict.app.get(WebhookDelivery).deliverDue()).toBe(0);
      expect(receiver.received).toHaveLength(0);
      const pending = (await events()).filter((e) => e.status === 'pending');
      expect(pending).toEqual([expect.objectContaining({ type: 'partner.suspended', last_error: 'address_refused' })]);
    } finally {
      await strict.close();
    }
  });

  it('removes a webhook: pending events are dropped, the action traced; a second removal is 404', async () => {
    expect((await api.delete(`/admin/api/partners/${partner.partnerId}/webhook`, { token: operator })).status).toBe(204);
    expect((await events()).filter((e) => e.status === 'pending')).toEqual([]);
    expect((await events()).find((e) => e.last_error === 'webhook_removed')).toMatchObject({ status: 'failed' });
    const again = await api.delete(`/admin/api/partners/${partner.partnerId}/webhook`, { token: operator });
    expect(again.status).toBe(404);
    const detail = await api.get(`/admin/api/partners/${partner.partnerId}`, { token: operator });
    expect(detail.body.webhook).toBeNull();
    expect(detail.body.actions.map((a: { action: string }) => a.action)).toContain('partner.webhook_removed');
    await lifecycle('reactivate');
    expect((await events()).filter((e) => e.status === 'pending')).toEqual([]);
  });

  it('answers problems for a bad body, an unknown partner, a closed partner and a missing role', async () => {
    const put = (id: string, body: unknown, token = operator) => api.send('PUT', `/admin/api/partners/${id}/webhook`, { body, token });
    expect((await put(partner.partnerId, {})).body).toMatchObject({ status: 400, errors: [{ field: 'url' }] });
    expect((await put(partner.partnerId, { url: 'https://' + 'a'.repeat(2100) })).body).toMatchObject({ status: 400, errors: [{ field: 'url' }] });
    expect((await put('00000000-0000-4000-8000-000000000000', { url: hookUrl() })).status).toBe(404);
    expect((await put('pas-un-id', { url: hookUrl() })).status).toBe(404);
    const other = await onboardPartner(t, { organisation: { name: 'CCAS de Vénissieux', siret: makeSiret('2169012310002') } });
    await api.post(`/admin/api/partners/${other.partnerId}/revoke`, { reason: 'Convention résiliée' }, { token: operator });
    expect((await put(other.partnerId, { url: hookUrl() })).body).toMatchObject({ status: 409, code: 'partner_closed' });
    expect((await api.send('PUT', `/admin/api/partners/${partner.partnerId}/webhook`, { body: { url: hookUrl() } })).status).toBe(401);
  });
});
