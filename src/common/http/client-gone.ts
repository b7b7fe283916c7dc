import type { FastifyReply } from 'fastify';

/** The reason of whileClientWaits' signal: the answer has no one to go to. The error filters send nothing for it. */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';
  constructor() {
    super('the client closed its connection before the answer');
  }
}

/**
 * Aborts when the client closes its connection before its answer was sent (an auditor who left the page, a proxy
 * that timed out): work that would only produce that answer can stop.
 */
export function whileClientWaits(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  response.once('close', () => {
    if (!response.writableFinished) controller.abort(new ClientGone());
  });
  return controller.signal;
}
