import { Initial1763900000001 } from './001-initial';

/** Every migration, in order. Listed explicitly so that the same list serves the compiled app, the CLI and tests. */
export const MIGRATIONS = [Initial1763900000001];
