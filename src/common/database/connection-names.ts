/**
 * The application_name of the gateway's connections, as pg_stat_activity shows them (an operator tells the
 * gateway's sessions apart by it; the audit bench counts PostgreSQL's CPU by it): the pool's connections, and the
 * one the sealer's thread opens for its reads.
 */
export const APPLICATION_NAME = 'api-droits-cnam-gateway';
export const SEALER_APPLICATION_NAME = `${APPLICATION_NAME}-sealer`;
