import { MigrationInterface, QueryRunner } from 'typeorm';

/** Partners, operators, credentials, terms, signing keys and the interim operator-action log. */
export class Initial1763900000001 implements MigrationInterface {
  name = 'Initial1763900000001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE terms_versions (
        version       text PRIMARY KEY,
        effective_at  timestamptz NOT NULL,
        summary       text NOT NULL,
        text          text NOT NULL,
        published_at  timestamptz NOT NULL DEFAULT now(),
        published_by  uuid NULL
      );
      INSERT INTO terms_versions (version, effective_at, summary, text, published_at) VALUES (
        '2026-01', '2026-01-01T00:00:00+01:00',
        'Conditions générales d''utilisation initiales de l''API droits CNAM.',
        'Conditions générales d''utilisation de l''API droits CNAM, version 2026-01. Seuls les agents dûment habilités '
        || 'accèdent aux données, pour la finalité déclarée ; chaque accès est tracé et les traces sont conservées '
        || 'pendant la durée légale. Disponibilité d''au moins 95 % par mois calendaire. Le partenaire est informé '
        || 'à l''avance des changements des conditions et des maintenances programmées. Le partenaire peut se '
        || 'désengager avec un préavis de 15 jours ; la DINSIC peut suspendre ou révoquer un accès sans délai.',
        '2026-01-01T00:00:00+01:00');

      CREATE TABLE operators (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email         text NOT NULL,
        display_name  text NULL,
        password_hash text NOT NULL,
        roles         text[] NOT NULL CHECK (cardinality(roles) > 0 AND roles <@ ARRAY['operator','auditor','admin']),
        created_at    timestamptz NOT NULL DEFAULT now(),
        disabled_at   timestamptz NULL
      );
      CREATE UNIQUE INDEX operators_email_key ON operators (lower(email));

      CREATE TABLE operator_sessions (
        token_hash  bytea PRIMARY KEY,
        operator_id uuid NOT NULL REFERENCES operators(id),
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL
      );
      CREATE INDEX operator_sessions_expiry ON operator_sessions (expires_at);

      CREATE TABLE access_requests (
        id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        status                text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','rejected')),
        organisation_name     text NOT NULL,
        siret                 char(14) NOT NULL,
        contact               jsonb NOT NULL,
        technical_contact     jsonb NOT NULL,
        legal_basis           text NOT NULL,
        purpose               text NOT NULL,
        scopes                text[] NOT NULL,
        retention_months      integer NOT NULL,
        expected_daily_volume integer NOT NULL,
        recipients            text[] NOT NULL,
        terms_version         text NOT NULL REFERENCES terms_versions(version),
        created_at            timestamptz NOT NULL DEFAULT now(),
        decided_at            timestamptz NULL,
        decided_by            uuid NULL REFERENCES operators(id),
        decision_note         text NULL,
        partner_id            uuid NULL
      );
      CREATE INDEX access_requests_status ON access_requests (status, created_at);

      CREATE TABLE partners (
        id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        access_request_id           uuid NOT NULL UNIQUE REFERENCES access_requests(id),
        name                        text NOT NULL,
        siret                       char(14) NOT NULL,
        scopes                      text[] NOT NULL,
        recipients                  text[] NOT NULL,
        rate_limit_per_second       integer NOT NULL CHECK (rate_limit_per_second > 0),
        client_id                   text NOT NULL UNIQUE,
        status                      text NOT NULL DEFAULT 'active' CHECK (status IN ('active','suspended','revoked','left')),
        status_reason               text NULL,
        status_changed_at           timestamptz NOT NULL DEFAULT now(),
        disengagement_requested_at  timestamptz NULL,
        disengagement_effective_at  timestamptz NULL,
        disengagement_reason        text NULL,
        created_at                  timestamptz NOT NULL DEFAULT now(),
        updated_at                  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX partners_disengagement_due ON partners (disengagement_effective_at)
        WHERE disengagement_effective_at IS NOT NULL;

      CREATE TABLE partner_secrets (
        id           bigserial PRIMARY KEY,
        partner_id   uuid NOT NULL REFERENCES partners(id),
        secret_hash  text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        valid_until  timestamptz NULL
      );
      CREATE INDEX partner_secrets_partner ON partner_secrets (partner_id);

      CREATE TABLE terms_acceptances (
        partner_id  uuid NOT NULL REFERENCES partners(id),
        version     text NOT NULL REFERENCES terms_versions(version),
        accepted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (partner_id, version)
      );

      CREATE TABLE signing_keys (
        kid                   text PRIMARY KEY,
        algorithm             text NOT NULL,
        public_jwk            jsonb NOT NULL,
        private_key_encrypted text NOT NULL,
        created_at            timestamptz NOT NULL DEFAULT now(),
        retired_at            timestamptz NULL
      );
      CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

      CREATE TABLE operator_actions (
        id           bigserial PRIMARY KEY,
        occurred_at  timestamptz NOT NULL DEFAULT now(),
        actor_type   text NOT NULL CHECK (actor_type IN ('operator','partner','system')),
        operator_id  uuid NULL,
        partner_id   uuid NULL,
        action       text NOT NULL,
        target_type  text NOT NULL,
        target_id    text NULL,
        detail       jsonb NOT NULL DEFAULT '{}'::jsonb
      );
      CREATE INDEX operator_actions_time ON operator_actions (occurred_at);

      CREATE TABLE incidents (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        partner_id  uuid NOT NULL REFERENCES partners(id),
        summary     text NOT NULL,
        detail      text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX incidents_time ON incidents (created_at);
    `);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DROP TABLE incidents, operator_actions, signing_keys, terms_acceptances, partner_secrets, partners,
        access_requests, operator_sessions, operators, terms_versions;
    `);
  }
}
