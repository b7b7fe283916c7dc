import { readdirSync, readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { AuditSealer } from '../src/audit/audit-sealer';
import { CheckpointBroadcast } from '../src/notifications/checkpoint-broadcast';
import { NotificationDelivery } from '../src/notifications/delivery';
import { CredentialsService } from '../src/partners/credentials.service';
import { PartnersService } from '../src/partners/partners.service';
import { SlaReports } from '../src/sla/sla-reports';
import { accessRequestBody, makeSiret, onboardPartner, OnboardedPartner, operatorToken, partnerToken, requestToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';

/** A real SMTP server on loopback that keeps every message it accepts, parsed; it can be told to refuse for a while. */
async function startSmtp() {
  const received: ParsedMail[] = [];
  let refusing = false;
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false,
    onData(stream, _session, callback) {
      if (refusing) {
        stream.resume();
        stream.on('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
        return;
      }
      simpleParser(stream).then((mail) => {
        received.push(mail);
        callback();
      }, callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { received, port: (server.server.address() as AddressInfo).port, refuse: (value: boolean) => (refusing = value),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Partners' notifications (DESIGN §4): written with their event, delivered once by SMTP or as .eml files. */
describe('notifications', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let operator: string;
  let partner: OnboardedPartner;
  const deliver = () => t.app.get(NotificationDelivery).deliverDue();
  const mailsTo = (type: string) => smtp.received.filter((mail) => mail.headers.get('x-notification-type') === type);

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, NOTIFY_FROM: 'API droits CNAM <notifications@dinsic.test>',
      PUBLIC_URL: 'https://api-droits.dinsic.test', AUDIT_CHECKPOINT_EVERY: '1' });
    api = client(t.url);
    operator = await operatorToken(t);
    partner = await onboardPartner(t, { organisation: { name: 'CCAS de Saint-Priest', siret: makeSiret('2169012310001') },
      contact: { name: 'Camille Martin', email: 'camille@saint-priest.test' }, technicalContact: { name: 'DSI', email: 'dsi@saint-priest.test' } });
  });
  afterEach(() => t.clock.set(new Date()));
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('writes one message per contact with each event, in its transaction, and delivers each in French by SMTP', async () => {
    // Events: received and approved (the onboarding above), a rejection, the lifecycle, a rotation, terms,
    // maintenance announced and cancelled, a disengagement requested then effective, a monthly report.
    const rejected = await api.post('/v1/access-requests', accessRequestBody({ contact: { name: 'Alix', email: 'refus@exemple.test' },
      technicalContact: { name: 'Bruno', email: 'refus@exemple.test' } }));
    expect((await api.post(`/admin/api/access-requests/${rejected.body.id}/reject`, { reason: 'Convention absente' }, { token: operator })).status).toBe(200);
    const other = await onboardPartner(t, { organisation: { name: 'CAF du Rhône', siret: makeSiret('2169012310002') } });
    for (const action of ['suspend', 'reactivate']) {
      expect((await api.post(`/admin/api/partners/${other.partnerId}/${action}`, { reason: 'Contrôle annuel' }, { token: operator })).status).toBe(200);
    }
    expect((await api.post(`/admin/api/partners/${other.partnerId}/credentials`, {}, { token: operator })).status).toBe(200);
    expect((await api.post('/admin/api/terms', { version: '2027-01', effectiveAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      summary: 'Nouvelle catégorie : exonérations.' }, { token: operator })).status).toBe(201);
    const start = new Date(Date.now() + 3 * 86_400_000);
    const windowAnswer = await api.post('/admin/api/maintenance-windows', { start: start.toISOString(),
      end: new Date(start.getTime() + 7_200_000).toISOString(), reason: 'Migration du serveur de bases de données' }, { token: operator });
    const moved = await api.send('PATCH', `/admin/api/maintenance-windows/${windowAnswer.body.id}`, { token: operator,
      body: { start: new Date(start.getTime() + 3_600_000).toISOString(), end: new Date(start.getTime() + 4 * 3_600_000).toISOString() } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ reason: 'Migration du serveur de bases de données', ends_at: new Date(start.getTime() + 4 * 3_600_000).toISOString() });
    expect((await api.delete(`/admin/api/maintenance-windows/${windowAnswer.body.id}`, { token: operator })).status).toBe(200);
    const month = '2026-11';
    await t.sql('UPDATE sla_service SET measured_from = $1', [new Date('2026-11-20T00:00:00Z')]);
    await t.app.get(SlaReports).close(month);
    expect((await api.post(`/admin/api/partners/${other.partnerId}/revoke`, { reason: 'Fin de convention' }, { token: operator })).status).toBe(200);
    const token = await partnerToken(t, partner);
    expect((await api.post('/v1/me/disengagement', { reason: 'Fin du dispositif' }, { token })).status).toBe(200);
    t.clock.advance(16 * 86_400_000);
    await t.app.get(PartnersService).applyDueDisengagements();

    const rows = await t.sql<{ type: string; recipient: string; status: string }>('SELECT type, recipient, status FROM notifications ORDER BY created_at');
    const types = new Set(rows.map((row) => row.type));
    for (const type of ['access_request.received', 'access_request.approved', 'access_request.rejected', 'partner.suspended', 'partner.reactivated',
      'partner.revoked', 'credentials.rotated', 'terms.published', 'maintenance.announced', 'maintenance.changed', 'maintenance.cancelled', 'disengagement.requested',
      'disengagement.effective']) expect([type, types.has(type)]).toEqual([type, true]);
    // One message per distinct contact: the rejected applicant gave the same address twice.
    expect(rows.filter((row) => row.type === 'access_request.rejected').map((row) => row.recipient)).toEqual(['refus@exemple.test']);
    expect(rows.every((row) => row.status === 'pending')).toBe(true);

    const sent = await deliver();
    expect(sent).toBe(rows.length);
    expect(smtp.received).toHaveLength(rows.length);
    const ids = await t.sql<{ id: string; type: string }>(`SELECT id, type FROM notifications WHERE status = 'sent'`);
    expect(ids).toHaveLength(rows.length);
    // Each message: French, both parts, the Message-ID derived from its notification, the partner named, no person.
    const approved = mailsTo('access_request.approved').find((mail) => (mail.to as { text: string }).text === 'camille@saint-priest.test')!;
    expect(approved.subject).toBe("[API droits CNAM] Demande d'accès approuvée");
    expect(approved.text).toContain("La demande d'accès de CCAS de Saint-Priest est approuvée. Identifiant client : " + partner.clientId);
    expect(approved.text).not.toContain(partner.clientSecret);
    expect(approved.html).toContain('<p>Bonjour,</p>');
    expect(approved.from?.value[0]).toMatchObject({ name: 'API droits CNAM', address: 'notifications@dinsic.test' });
    const approvedId = ids.find((row) => row.type === 'access_request.approved')!.id;
    expect(smtp.received.some((mail) => mail.messageId === `<${approvedId}@api-droits-cnam.notifications>`)).toBe(true);
    const maintenance = mailsTo('maintenance.announced')[0];
    expect(maintenance.text).toMatch(/Une maintenance aura lieu du \d{1,2} \p{L}+ \d{4} à \d\d:\d\d \(heure de Paris\)/u);
    expect(maintenance.text).toContain('État du service : https://api-droits.dinsic.test/status');
    expect(mailsTo('maintenance.changed')[0].text).toMatch(
      /La maintenance prévue du .+ \(heure de Paris\) au .+ aura finalement lieu du .+ \(heure de Paris\) au .+ \(heure de Paris\)\./u);
    expect(mailsTo('partner.suspended')[0].text).toContain("L'accès de CAF du Rhône à l'API droits CNAM est suspendu");
    expect(mailsTo('partner.suspended')[0].text).toContain('Motif : Contrôle annuel');
    expect(mailsTo('sla.report_published').map((mail) => mail.subject)).toContain(`[API droits CNAM] Disponibilité du service : rapport de ${month}`);
    for (const mail of smtp.received) expect(mail.text).not.toMatch(/\d{13}\s?\d{2}/); // no NIR, ever

    // Nothing is sent twice, whoever runs the delivery, however often.
    expect(await deliver()).toBe(0);
    expect(smtp.received).toHaveLength(rows.length);
    t.clock.set(new Date());
  }, 60_000);

  it('refuses what cannot be done with a problem: cancelling an unknown or ended window, a bad filter, a forged cursor', async () => {
    const unknown = await api.delete('/admin/api/maintenance-windows/00000000-0000-0000-0000-000000000000', { token: operator });
    expect(unknown.body).toMatchObject({ status: 404, code: 'not_found' });
    expect((await api.delete('/admin/api/maintenance-windows/not-a-uuid', { token: operator })).status).toBe(404);
    const start = new Date(Date.now() + 60_000);
    const window = await api.post('/admin/api/maintenance-windows', { start: start.toISOString(), end: new Date(start.getTime() + 3_600_000).toISOString(),
      reason: 'Courte maintenance' }, { token: operator });
    expect(window.status).toBe(201);
    const patch = (body: unknown, id = window.body.id as string) => api.send('PATCH', `/admin/api/maintenance-windows/${id}`, { body, token: operator });
    expect((await patch({})).body).toMatchObject({ status: 400, errors: [{ field: 'start', reason: 'give at least one of start, end, reason' }] });
    expect((await patch({ end: 'demain' })).body).toMatchObject({ status: 400, errors: [{ field: 'end' }] });
    expect((await patch({ end: start.toISOString() })).body).toMatchObject({ status: 400, errors: [{ field: 'end', reason: 'must be after start' }] });
    expect((await patch({ start: new Date(Date.now() - 60_000).toISOString() })).body)
      .toMatchObject({ status: 400, errors: [{ field: 'start', reason: expect.stringMatching(/^must not be in the past/) }] });
    expect((await patch({ reason: 'Autre motif' }, '00000000-0000-0000-0000-000000000000')).body).toMatchObject({ status: 404 });
    t.clock.advance(120_000); // the window has begun: its start stays, its end may move
    expect((await patch({ start: new Date(start.getTime() + 60_000).toISOString() })).body)
      .toMatchObject({ status: 400, errors: [{ field: 'start', reason: 'this window has begun: its start can no longer change' }] });
    expect((await patch({ end: new Date(start.getTime() + 7_200_000).toISOString() })).status).toBe(200);
    t.clock.advance(3 * 3_600_000);
    const ended = await api.delete(`/admin/api/maintenance-windows/${window.body.id}`, { token: await operatorToken(t) });
    expect(ended.body).toMatchObject({ status: 409, code: 'maintenance_over' });
    expect((await patch({ reason: 'Trop tard' })).body).toMatchObject({ status: 409, code: 'maintenance_over' });
    t.clock.set(new Date());
    const filter = await api.get('/admin/api/notifications?status=lost&partner=nobody', { token: operator });
    expect(filter.body).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(filter.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['partner', 'status']);
    const fresh = await onboardPartner(t, { organisation: { name: 'Commune de Vaulx-en-Velin', siret: makeSiret('2169012310008') } });
    const cursor = await api.get('/v1/me/notifications?cursor=forged', { token: await partnerToken(t, fresh) });
    expect(cursor.body).toMatchObject({ status: 400, code: 'invalid_request', errors: [{ field: 'cursor', reason: 'is not a cursor this API gave' }] });
  });

  it('lets two instances deliver at once without sending any message twice', async () => {
    const before = smtp.received.length;
    for (let i = 0; i < 3; i++) {
      expect((await api.post('/admin/api/terms', { version: `2027-0${i + 2}`, effectiveAt: new Date(Date.now() + (40 + i) * 86_400_000).toISOString(),
        summary: `Version ${i}` }, { token: operator })).status).toBe(201);
    }
    const other = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${smtp.port}` }, { databaseUrl: t.databaseUrl });
    try {
      const [a, b] = await Promise.all([deliver(), other.app.get(NotificationDelivery).deliverDue()]);
      const pending = await t.sql<{ count: number }>(`SELECT count(*)::int AS count FROM notifications WHERE status <> 'sent'`);
      expect(pending[0].count).toBe(0);
      expect(a + b).toBe(smtp.received.length - before);
      const messageIds = smtp.received.map((mail) => mail.messageId);
      expect(new Set(messageIds).size).toBe(messageIds.length);
    } finally {
      await other.app.close();
    }
  }, 60_000);

  it('sends the latest signed checkpoint to every active partner once a day, and on demand, attached as the API publishes it', async () => {
    await onboardPartner(t, { organisation: { name: 'Préfecture du Rhône', siret: makeSiret('2169012310007') } });
    await t.app.get(AuditSealer).sealPending();
    const latest = (await api.get('/v1/audit/checkpoints/latest')).body;
    expect(latest.seq).toEqual(expect.any(Number));
    const broadcast = t.app.get(CheckpointBroadcast);
    const active = (await t.sql<{ count: number }>(`SELECT count(*)::int AS count FROM partners WHERE status = 'active'`))[0].count;
    expect(active).toBeGreaterThan(0);
    const written = await broadcast.broadcastDaily();
    expect(written).toBeGreaterThanOrEqual(active);
    expect(await broadcast.broadcastDaily()).toBe(0); // once a day, whichever instance runs it
    expect(await broadcast.broadcastNow()).toBe(written); // an auditor's request goes anyway
    const before = smtp.received.length;
    await deliver();
    const mails = smtp.received.slice(before).filter((mail) => mail.headers.get('x-notification-type') === 'audit.checkpoint');
    expect(mails).toHaveLength(2 * written);
    const [attachment] = mails[0].attachments;
    expect(attachment.filename).toBe(`checkpoint-${latest.seq}.json`);
    expect(JSON.parse(attachment.content.toString('utf8'))).toEqual(latest);
    expect(mails[0].text).toContain(`séquence ${latest.seq}, empreinte ${latest.hash}`);

    // The next Paris day, again once (the day's bounds are Paris midnights, not UTC ones).
    const clock = t.clock;
    const today = clock.now();
    try {
      const parisDay = (at: Date) => at.toLocaleDateString('sv-SE', { timeZone: 'Europe/Paris' });
      // Paris is one or two hours ahead of UTC: its midnight is the candidate where the Paris day changes.
      const parisMidnight = (day: string) => ['+01:00', '+02:00'].map((offset) => new Date(`${day}T00:00:00${offset}`))
        .find((at) => parisDay(at) === day && parisDay(new Date(at.getTime() - 60_000)) !== day)!;
      const tomorrow = parisDay(new Date(parisMidnight(parisDay(today)).getTime() + 36 * 3_600_000));
      clock.set(new Date(parisMidnight(tomorrow).getTime() - 60_000)); // 23:59 in Paris: still today
      expect(await broadcast.broadcastDaily()).toBe(0);
      clock.set(new Date(parisMidnight(tomorrow).getTime() + 60_000)); // 00:01 in Paris
      expect(await broadcast.broadcastDaily()).toBe(written);
      expect(await broadcast.broadcastDaily()).toBe(0);
    } finally {
      clock.set(today);
    }
  });

  it('retries a refused delivery later, with backoff, and then delivers it once', async () => {
    smtp.refuse(true);
    expect((await api.post(`/admin/api/partners/${partner.partnerId}/credentials`, {}, { token: operator })).status).toBe(409); // left: closed
    const fresh = await onboardPartner(t, { organisation: { name: 'Département du Rhône', siret: makeSiret('2169012310003') },
      contact: { name: 'Claire', email: 'contact@rhone.test' }, technicalContact: { name: 'Denis', email: 'contact@rhone.test' } });
    expect(await deliver()).toBe(0);
    const [failed] = await t.sql<{ attempts: number; status: string; last_error: string; next_attempt_at: Date }>(
      `SELECT attempts, status, last_error, next_attempt_at FROM notifications WHERE partner_id = $1 AND type = 'access_request.approved'`, [fresh.partnerId]);
    expect(failed).toMatchObject({ attempts: 1, status: 'pending', last_error: '451' });
    expect(failed.next_attempt_at.getTime()).toBeGreaterThan(Date.now() + 50_000);
    smtp.refuse(false);
    expect(await deliver()).toBe(0); // not due yet
    t.clock.advance(61_000);
    expect(await deliver()).toBeGreaterThanOrEqual(1);
    t.clock.set(new Date());
    expect(mailsTo('access_request.approved').filter((mail) => (mail.to as { text: string }).text === 'contact@rhone.test')).toHaveLength(1);
    // The partner reads what was sent to it, and only that.
    const mine = await api.get('/v1/me/notifications', { token: await partnerToken(t, fresh) });
    expect(mine.status).toBe(200);
    expect(mine.body.notifications.map((n: { type: string }) => n.type).sort()).toEqual(['access_request.approved', 'access_request.received']);
    expect(mine.body.notifications.find((n: { type: string }) => n.type === 'access_request.approved'))
      .toMatchObject({ status: 'sent', attempts: 2, recipient: 'contact@rhone.test' });
    expect(JSON.stringify(mine.body)).not.toContain('Saint-Priest');
    const outbox = await api.get(`/admin/api/notifications?partner=${fresh.partnerId}`, { token: operator });
    expect(outbox.body.map((n: { status: string }) => n.status)).toEqual(['sent', 'sent']);
  }, 60_000);
});

describe('warnings ahead of time', () => {
  let t: TestApp;
  const DAY = 86_400_000;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());
  const sentTypes = async (partnerId: string) => (await t.sql<{ type: string; data: Record<string, unknown> }>(
    `SELECT type, data FROM notifications WHERE partner_id = $1 AND type IN ('credentials.expiring', 'disengagement.reminder')
     AND recipient = 'dsi@ccas-lyon.fr' ORDER BY created_at`, // one contact's copy
    [partnerId]));

  it('warns 90, 30 and 7 days before a secret expires, each once, then refuses it as expired', async () => {
    const start = t.clock.now().getTime();
    const partner = await onboardPartner(t, { organisation: { name: 'CCAS de Meyzieu', siret: makeSiret('2169012310005') } });
    const credentials = t.app.get(CredentialsService);
    t.clock.set(new Date(start + 200 * DAY));
    expect(await credentials.warnExpiringSecrets()).toBe(0);
    t.clock.set(new Date(start + 276 * DAY)); // 89 days left
    expect(await credentials.warnExpiringSecrets()).toBe(1);
    expect(await credentials.warnExpiringSecrets()).toBe(0); // once
    t.clock.set(new Date(start + 360 * DAY)); // 5 days left: the 30-day warning was never sent, only the nearest goes
    expect(await credentials.warnExpiringSecrets()).toBe(1);
    expect((await sentTypes(partner.partnerId)).map((row) => row.data.days)).toEqual([90, 7]);
    const [warning] = await sentTypes(partner.partnerId);
    expect(warning.data.expires_at).toBe(new Date(Date.parse((await t.sql<{ created_at: Date }>(
      'SELECT created_at FROM partner_secrets WHERE partner_id = $1', [partner.partnerId]))[0].created_at.toISOString()) + 365 * DAY).toISOString());
    expect((await requestToken(t, partner)).status).toBe(200); // still valid for 5 days
    t.clock.set(new Date(start + 366 * DAY));
    const expired = await requestToken(t, partner);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: 'invalid_client', error_description: expect.stringMatching(/expired on \d{4}-/) });
    t.clock.set(new Date(start));
  });

  it('reminds a partner three days before its departure takes effect, once', async () => {
    const partner = await onboardPartner(t, { organisation: { name: 'CCAS de Décines', siret: makeSiret('2169012310006') } });
    const token = await partnerToken(t, partner);
    expect((await client(t.url).post('/v1/me/disengagement', { reason: 'Fin du dispositif' }, { token })).status).toBe(200);
    const partners = t.app.get(PartnersService);
    const start = t.clock.now().getTime();
    t.clock.set(new Date(start + 11 * DAY));
    expect(await partners.remindDisengagements()).toBe(0);
    t.clock.set(new Date(start + 12.5 * DAY));
    expect(await partners.remindDisengagements()).toBe(1);
    expect(await partners.remindDisengagements()).toBe(0);
    expect((await sentTypes(partner.partnerId)).map((row) => row.type)).toEqual(['disengagement.reminder']);
    t.clock.set(new Date(start));
  });
});

describe('notifications without SMTP_URL', () => {
  const dataDir = tempFolder('outbox-');
  it('writes each message as an .eml file under DATA_DIR/outbox, named by its notification, once', async () => {
    const t = await startTestApp({ DATA_DIR: dataDir });
    try {
      await onboardPartner(t, { organisation: { name: 'Commune de Bron', siret: makeSiret('2169012310004') } });
      const delivery = t.app.get(NotificationDelivery);
      const sent = await delivery.deliverDue();
      const files = readdirSync(join(dataDir, 'outbox')).sort();
      const ids = (await t.sql<{ id: string }>(`SELECT id FROM notifications WHERE status = 'sent' ORDER BY id`)).map((row) => `${row.id}.eml`);
      expect(files).toEqual(ids.sort());
      expect(sent).toBe(files.length);
      const mail = await simpleParser(readFileSync(join(dataDir, 'outbox', files[0])));
      expect(mail.subject).toMatch(/^\[API droits CNAM\] Demande d'accès (reçue|approuvée)$/);
      expect(mail.text).toContain('Commune de Bron');
      expect(await delivery.deliverDue()).toBe(0);
    } finally {
      await t.close();
    }
  }, 60_000);
});
