import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Availability and usage (DESIGN §6).
 * - sla_minutes: one row per instance per minute (UTC minute start): partner lookups, server-side failures (and how
 *   many of them the upstream caused), latency histogram buckets, probe results. Counters accumulate in memory and
 *   are added here every few seconds (an upsert that adds), never a write per request.
 * - usage_days: per partner, per Paris day, per instance: calls by outcome and a latency histogram (the partners'
 *   own figures: /v1/me/usage, the report's partners rows).
 * - sla_service: when the service was first started (the reports' measured_from).
 * - sla_reports: a month's report once closed: frozen (never updated) and signed.
 * - notifications: the outbox, one row per message per recipient contact (delivery comes with notifications).
 * - audit entries of kind 'probe': the availability probe's lookups are traced like any access.
 */
export class Availability1763900000007 implements MigrationInterface {
  name = 'Availability1763900000007';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE audit_entries DROP CONSTRAINT audit_queue_kind_check;
      ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_kind_check CHECK (kind IN ('lookup', 'action', 'probe'));

      CREATE TABLE sla_minutes (
        minute                 timestamptz NOT NULL,
        instance               text NOT NULL,
        requests               integer NOT NULL DEFAULT 0,
        failures               integer NOT NULL DEFAULT 0,
        failures_upstream      integer NOT NULL DEFAULT 0,
        probes_ok              integer NOT NULL DEFAULT 0,
        probes_failed          integer NOT NULL DEFAULT 0,
        probes_failed_upstream integer NOT NULL DEFAULT 0,
        latency_buckets        integer[] NOT NULL,
        PRIMARY KEY (minute, instance),
        CHECK (date_trunc('minute', minute) = minute)
      );

      CREATE TABLE usage_days (
        day             date NOT NULL,
        partner_id      uuid NOT NULL,
        instance        text NOT NULL,
        calls           integer NOT NULL DEFAULT 0,
        failures        integer NOT NULL DEFAULT 0,
        outcomes        jsonb NOT NULL DEFAULT '{}',
        latency_buckets integer[] NOT NULL,
        PRIMARY KEY (partner_id, day, instance)
      );

      CREATE TABLE sla_service (
        singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        measured_from timestamptz NOT NULL
      );

      CREATE TABLE sla_reports (
        month      text PRIMARY KEY CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        report     jsonb NOT NULL,
        frozen_at  timestamptz NOT NULL,
        key_id     text NOT NULL,
        signature  text NOT NULL
      );
      CREATE TRIGGER sla_reports_no_update BEFORE UPDATE OR DELETE ON sla_reports FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
      CREATE TRIGGER sla_reports_no_truncate BEFORE TRUNCATE ON sla_reports FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

      -- A closed month's figures never change: rows arriving late for it (a flush retried after the month closed) are
      -- dropped, so that its raw minutes stay exactly what its frozen report was computed from.
      CREATE FUNCTION sla_skip_frozen_month() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE row_month text;
      BEGIN
        -- Separate statements: each names a column only the one table has.
        IF TG_TABLE_NAME = 'sla_minutes' THEN row_month := to_char(NEW.minute AT TIME ZONE 'Europe/Paris', 'YYYY-MM');
        ELSE row_month := to_char(NEW.day, 'YYYY-MM');
        END IF;
        IF EXISTS (SELECT 1 FROM sla_reports r WHERE r.month = row_month) THEN RETURN NULL; END IF;
        RETURN NEW;
      END $fn$;
      CREATE TRIGGER sla_minutes_frozen BEFORE INSERT OR UPDATE ON sla_minutes FOR EACH ROW EXECUTE FUNCTION sla_skip_frozen_month();
      CREATE TRIGGER usage_days_frozen BEFORE INSERT OR UPDATE ON usage_days FOR EACH ROW EXECUTE FUNCTION sla_skip_frozen_month();

      CREATE TABLE notifications (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type        text NOT NULL,
        partner_id  uuid NULL REFERENCES partners(id),
        recipient   text NOT NULL,
        data        jsonb NOT NULL DEFAULT '{}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed'))
      );
      CREATE INDEX notifications_partner ON notifications (partner_id, created_at DESC);

      ALTER TABLE access_requests ADD COLUMN organisation_type text NOT NULL DEFAULT 'autre'
        CHECK (organisation_type IN ('caf', 'departement', 'commune', 'ccas', 'etat', 'autre'));
      ALTER TABLE partners ADD COLUMN organisation_type text NOT NULL DEFAULT 'autre'
        CHECK (organisation_type IN ('caf', 'departement', 'commune', 'ccas', 'etat', 'autre'));

      -- Frozen reports are written once (the closing instance), read by all; nothing may change them.
      REVOKE UPDATE, DELETE, TRUNCATE ON sla_reports FROM gateway_app;
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP TABLE notifications; DROP TRIGGER sla_minutes_frozen ON sla_minutes; DROP TRIGGER usage_days_frozen ON usage_days;
      DROP FUNCTION sla_skip_frozen_month(); DROP TABLE sla_reports; DROP TABLE sla_service; DROP TABLE usage_days; DROP TABLE sla_minutes;
      ALTER TABLE partners DROP COLUMN organisation_type; ALTER TABLE access_requests DROP COLUMN organisation_type;
      ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_kind_check;
      ALTER TABLE audit_entries ADD CONSTRAINT audit_queue_kind_check CHECK (kind IN ('lookup', 'action'));
    `);
  }
}
