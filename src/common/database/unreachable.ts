const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
// admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections; class 08 is "connection exception".
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
const DRIVER_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Connection ended/i;

/**
 * True when an error says the database cannot be reached (down, restarting, refusing connections), as opposed to
 * a statement it refused: the driver's, TypeORM's (which wraps the driver's in driverError) or the server's.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; driverError?: unknown } | undefined, depth = 0; e && depth < 3;
    e = e.driverError as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || /^08/.test(code)) return true;
    if (!code && typeof e.message === 'string' && DRIVER_MESSAGES.test(e.message)) return true;
  }
  return false;
}
