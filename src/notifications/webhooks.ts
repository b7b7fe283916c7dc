import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { ActionLog, Actor } from '../audit/action-log';
import { Clock } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { Conflict, NotFound, ValidationFailed } from '../common/errors/domain-errors';
import { isUuid } from '../common/ids';
import { SecretBox } from '../common/secret-box';
import { ServerSecret } from '../common/server-secret';
import { LeasedSender } from './leased-sender';
import { checkWebhookUrl, guardedLookup, WebhookTargetRefused } from './webhook-target';

/** A receiver has 10 s to acknowledge with a 2xx (DESIGN §3.6). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Retries back off from 30 s, doubling up to an hour between attempts, for 24 h after the event. */
export const WEBHOOK_RETRY_HOURS = 24;
const backoffMs = (attempts: number) => Math.min(30_000 * 2 ** (attempts - 1), 3600_000);

/**
 * The `X-Signature-256` of a delivery (DESIGN §3.6): `sha256=` and the hex HMAC-SHA-256, under the partner's webhook
 * secret, of `<timestamp>.<body>` (the timestamp as sent in X-Timestamp, the body byte for byte).
 */
export const signWebhook = (secret: string, timestamp: number | string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export interface WebhookSummary {
  url: string;
  registered_at: Date;
  pending: number;
  failed: number;
  last_delivered_at: Date | null;
  last_error: string | null;
}

const BOX_PURPOSE = 'webhook-secrets';

/**
 * Partners' webhooks (DESIGN §3.6): one HTTPS URL per partner, registered by an operator, its secret shown once and
 * kept encrypted (it must be read back to sign; the database alone cannot forge a delivery). Events are written by the
 * outbox beside the e-mails, in the transaction of what caused them.
 */
@Injectable()
export class WebhookRegistry {
  private readonly box: SecretBox;

  constructor(private readonly db: Database, private readonly clock: Clock, private readonly actions: ActionLog, secret: ServerSecret,
    @Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.box = new SecretBox(secret, BOX_PURPOSE);
  }

  /** Registers (or replaces) a partner's webhook: answers the new secret, which is never shown again. */
  async register(partnerId: string, rawUrl: string, actor: Actor & { type: 'operator' }): Promise<{ url: string; secret: string }> {
    // An unknown partner is a 404 whatever the URL; the URL is resolved outside the transaction (no row lock across DNS).
    await this.lockPartner(partnerId);
    let url: URL;
    try {
      url = await checkWebhookUrl(rawUrl, this.config.webhooks.allowPrivate);
    } catch (error) {
      if (error instanceof WebhookTargetRefused) throw new ValidationFailed([{ field: 'url', reason: error.reason }]);
      throw error;
    }
    const secret = `whsec_${randomBytes(32).toString('base64url')}`;
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      const partner = await this.lockPartner(partnerId, tx);
      if (partner.status === 'revoked' || partner.status === 'left') {
        throw new Conflict('partner_closed', `The partner is ${partner.status}; it receives no more notifications.`);
      }
      await this.db.rows(`INSERT INTO partner_webhooks (partner_id, url, secret_encrypted, registered_at, registered_by) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (partner_id) DO UPDATE SET url = EXCLUDED.url, secret_encrypted = EXCLUDED.secret_encrypted,
          registered_at = EXCLUDED.registered_at, registered_by = EXCLUDED.registered_by`,
      [partner.id, url.href, this.box.seal(secret), now, actor.operatorId], tx);
      await this.actions.record({ actor, action: 'partner.webhook_registered', targetType: 'partner', targetId: partner.id,
        partnerId: partner.id, detail: { url: url.href }, at: now }, tx);
    });
    return { url: url.href, secret };
  }

  /** Removes a partner's webhook; events not yet delivered are dropped with it (marked failed: webhook_removed). */
  async remove(partnerId: string, actor: Actor & { type: 'operator' }): Promise<void> {
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      const partner = await this.lockPartner(partnerId, tx);
      const removed = await this.db.rows('DELETE FROM partner_webhooks WHERE partner_id = $1 RETURNING url', [partner.id], tx);
      if (removed.length === 0) throw new NotFound('This partner has no webhook.');
      await this.db.rows(`UPDATE webhook_events SET status = 'failed', last_error = 'webhook_removed', lease_until = NULL
        WHERE partner_id = $1 AND status = 'pending'`, [partner.id], tx);
      await this.actions.record({ actor, action: 'partner.webhook_removed', targetType: 'partner', targetId: partner.id,
        partnerId: partner.id, detail: { url: (removed[0] as { url: string }).url }, at: now }, tx);
    });
  }

  /** The webhook of a partner and how its deliveries fare, for operators (partner detail, console). */
  async summary(partnerId: string): Promise<WebhookSummary | null> {
    if (!isUuid(partnerId)) return null;
    return (await this.db.one<WebhookSummary>(
      `SELECT w.url, w.registered_at,
         (SELECT count(*)::int FROM webhook_events e WHERE e.partner_id = w.partner_id AND e.status = 'pending') AS pending,
         (SELECT count(*)::int FROM webhook_events e WHERE e.partner_id = w.partner_id AND e.status = 'failed'
            AND e.occurred_at >= w.registered_at) AS failed,
         (SELECT max(delivered_at) FROM webhook_events e WHERE e.partner_id = w.partner_id) AS last_delivered_at,
         (SELECT e.last_error FROM webhook_events e WHERE e.partner_id = w.partner_id AND e.last_error IS NOT NULL
            AND e.occurred_at >= w.registered_at ORDER BY e.occurred_at DESC LIMIT 1) AS last_error
       FROM partner_webhooks w WHERE w.partner_id = $1`, [partnerId])) ?? null;
  }

  /** The secret to sign with, and where to deliver: undefined once the webhook is removed. */
  async target(partnerId: string): Promise<{ url: string; secret: string } | undefined> {
    const row = await this.db.one<{ url: string; secret_encrypted: string }>(
      'SELECT url, secret_encrypted FROM partner_webhooks WHERE partner_id = $1', [partnerId]);
    return row && { url: row.url, secret: this.box.open(row.secret_encrypted) };
  }

  private async lockPartner(id: string, tx?: Parameters<Database['rows']>[2]): Promise<{ id: string; status: string }> {
    const partner = isUuid(id) ? await this.db.one<{ id: string; status: string }>(
      `SELECT id, status FROM partners WHERE id = $1${tx ? ' FOR UPDATE' : ''}`, [id], tx)
      : undefined;
    if (!partner) throw new NotFound('No such partner.');
    return partner;
  }
}

interface DueEvent {
  id: string;
  attempts: number;
  partner_id: string;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
}

/** Why a delivery did not count: kept as the event's last error (an HTTP status, or what went wrong; never a body). */
class DeliveryFailed extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Delivers webhook events (DESIGN §3.6): a POST of `{ id, type, occurred_at, partner_id, data }`, signed; a 2xx within
 * 10 s acknowledges it; a redirect is not followed (it counts as a failure); the address connected to is checked
 * again at every delivery (webhook-target.ts). Retried with backoff for 24 h after the event, leased like the e-mails.
 */
@Injectable()
export class WebhookDelivery extends LeasedSender<DueEvent> {
  protected readonly logger = new Logger(WebhookDelivery.name);
  private readonly ca?: string[];

  constructor(db: Database, clock: Clock, adapterHost: HttpAdapterHost, @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: WebhookRegistry) {
    super(db, clock, adapterHost, config, { table: 'webhook_events', columns: 'partner_id, type, data, occurred_at', doneStatus: 'delivered',
      doneAt: 'delivered_at' });
    if (config.webhooks.caFile) this.ca = [...rootCertificates, readFileSync(config.webhooks.caFile, 'utf8')];
  }

  protected nextAttempt(event: DueEvent, attempts: number): Date | undefined {
    const next = this.clock.now().getTime() + backoffMs(attempts);
    return next > event.occurred_at.getTime() + WEBHOOK_RETRY_HOURS * 3600_000 ? undefined : new Date(next);
  }

  protected async send(event: DueEvent): Promise<void> {
    const target = await this.registry.target(event.partner_id);
    if (!target) throw new DeliveryFailed('webhook_removed');
    let url: URL;
    try {
      url = await checkWebhookUrl(target.url, this.config.webhooks.allowPrivate);
    } catch (error) {
      throw new DeliveryFailed(error instanceof WebhookTargetRefused ? error.code : 'unresolvable');
    }
    const body = JSON.stringify({ id: event.id, type: event.type, occurred_at: event.occurred_at.toISOString(), partner_id: event.partner_id,
      data: event.data });
    const timestamp = Math.floor(this.clock.now().getTime() / 1000);
    const status = await this.post(url, body, {
      'content-type': 'application/json', 'user-agent': 'api-droits-cnam-webhooks/1', 'x-event-id': event.id, 'x-event-type': event.type,
      'x-timestamp': String(timestamp), 'x-signature-256': signWebhook(target.secret, timestamp, body),
    });
    if (status >= 300 && status < 400) throw new DeliveryFailed(`redirect_not_followed_${status}`);
    if (status < 200 || status >= 300) throw new DeliveryFailed(`http_${status}`);
  }

  /** One POST, no redirects, no connection reuse, 10 s in all (connection, TLS, answer). */
  private post(url: URL, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: false, ca: this.ca,
        lookup: guardedLookup(this.config.webhooks.allowPrivate), timeout: WEBHOOK_TIMEOUT_MS,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      });
      const deadline = setTimeout(() => req.destroy(new DeliveryFailed('timeout')), WEBHOOK_TIMEOUT_MS);
      req.on('timeout', () => req.destroy(new DeliveryFailed('timeout')));
      req.on('error', (error) => reject(error instanceof WebhookTargetRefused ? new DeliveryFailed(error.code)
        : error instanceof DeliveryFailed ? error : new DeliveryFailed(String((error as NodeJS.ErrnoException).code ?? 'connection_failed'))));
      req.on('close', () => clearTimeout(deadline));
      req.end(body);
    });
  }
}
