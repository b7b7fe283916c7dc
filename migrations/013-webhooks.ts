import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks (DESIGN §3.6): one HTTPS URL per partner, its signing secret kept encrypted (SecretBox: it must be read
 * back to sign, so it cannot be hashed); and one event row per notification per partner with a webhook, written in
 * the transaction of the event like the e-mail rows, delivered and retried by whichever instance leases it.
 */
export class Webhooks1763900000013 implements MigrationInterface {
  name = 'Webhooks1763900000013';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE partner_webhooks (
        partner_id       uuid PRIMARY KEY REFERENCES partners(id),
        url              text NOT NULL,
        secret_encrypted text NOT NULL,
        registered_at    timestamptz NOT NULL,
        registered_by    uuid NULL REFERENCES operators(id)
      );
      CREATE TABLE webhook_events (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id       uuid NOT NULL REFERENCES partners(id),
        type             text NOT NULL,
        data             jsonb NOT NULL,
        occurred_at      timestamptz NOT NULL,
        status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL,
        lease_until      timestamptz NULL,
        delivered_at     timestamptz NULL,
        -- An HTTP status or an error code (timeout, address_refused, redirect...): never a response body.
        last_error       text NULL
      );
      CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_events_partner ON webhook_events (partner_id, occurred_at DESC);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE webhook_events; DROP TABLE partner_webhooks;');
  }
}
