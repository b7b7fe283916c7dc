/** What the simulator does wrong, on purpose: set by environment at start and at run time by its admin endpoint. */
export interface Faults {
  /** Added to every answer, in milliseconds. */
  latencyMs: number;
  /** Random extra latency, uniform in [0, jitterMs]. */
  jitterMs: number;
  /** Share of requests answered 500 (0..1). */
  errorRate: number;
  /** Share of requests never answered (the caller's timeout fires). */
  timeoutRate: number;
  /** Share of requests answered 200 with a body that breaks the contract. */
  malformedRate: number;
  /** Full outage: every connection is reset. */
  down: boolean;
  /** Flapping: alternately up and down for this many milliseconds each (0: off). */
  flapPeriodMs: number;
}

export const NO_FAULTS: Faults = {
  latencyMs: 0, jitterMs: 0, errorRate: 0, timeoutRate: 0, malformedRate: 0, down: false, flapPeriodMs: 0,
};

const RATES = ['errorRate', 'timeoutRate', 'malformedRate'] as const;
const DURATIONS = ['latencyMs', 'jitterMs', 'flapPeriodMs'] as const;

/** Merges a partial update into faults, refusing anything out of range; returns the problems found. */
export function applyFaults(current: Faults, update: Record<string, unknown>): { faults: Faults; problems: string[] } {
  const faults = { ...current };
  const problems: string[] = [];
  for (const [name, value] of Object.entries(update)) {
    if ((RATES as readonly string[]).includes(name)) {
      if (typeof value === 'number' && value >= 0 && value <= 1) faults[name as (typeof RATES)[number]] = value;
      else problems.push(`${name} must be a number from 0 to 1`);
    } else if ((DURATIONS as readonly string[]).includes(name)) {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 600_000) faults[name as (typeof DURATIONS)[number]] = value;
      else problems.push(`${name} must be a whole number of milliseconds from 0 to 600000`);
    } else if (name === 'down') {
      if (typeof value === 'boolean') faults.down = value;
      else problems.push('down must be true or false');
    } else {
      problems.push(`unknown fault ${name}`);
    }
  }
  return { faults, problems };
}

/** Faults from SIMULATOR_* environment variables. */
export function faultsFromEnvironment(env: Record<string, string | undefined>): Faults {
  const update: Record<string, unknown> = {};
  const numbers: [string, keyof Faults][] = [['SIMULATOR_LATENCY_MS', 'latencyMs'], ['SIMULATOR_JITTER_MS', 'jitterMs'],
    ['SIMULATOR_ERROR_RATE', 'errorRate'], ['SIMULATOR_TIMEOUT_RATE', 'timeoutRate'],
    ['SIMULATOR_MALFORMED_RATE', 'malformedRate'], ['SIMULATOR_FLAP_PERIOD_MS', 'flapPeriodMs']];
  for (const [variable, fault] of numbers) if (env[variable] !== undefined) update[fault] = Number(env[variable]);
  if (env.SIMULATOR_DOWN !== undefined) update.down = env.SIMULATOR_DOWN === 'true' || env.SIMULATOR_DOWN === '1';
  const { faults, problems } = applyFaults(NO_FAULTS, update);
  if (problems.length > 0) throw new Error(`Invalid simulator faults: ${problems.join('; ')}`);
  return faults;
}
