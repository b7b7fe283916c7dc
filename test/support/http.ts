export interface HttpAnswer<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (a string or bytes) instead of JSON. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  token?: string;
}

/** Real HTTP over a real socket (Node's fetch), JSON by default. */
export async function http<T = any>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(baseUrl + path, { method, headers, body });
  } catch (error) {
    // A kept-alive connection the server closed as it was reused (a test that blocked its event loop for long, as
    // spawnSync does): a GET is safely sent again once, as any HTTP client does.
    if (method !== 'GET' || !/ECONNRESET|UND_ERR_SOCKET|other side closed/.test(String((error as { cause?: unknown }).cause ?? error))) throw error;
    response = await fetch(baseUrl + path, { method, headers, body });
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export function client(baseUrl: string) {
  return {
    get: <T = any>(path: string, options?: RequestOptions) => http<T>(baseUrl, 'GET', path, options),
    post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => http<T>(baseUrl, 'POST', path, { ...options, body }),
    delete: <T = any>(path: string, options?: RequestOptions) => http<T>(baseUrl, 'DELETE', path, options),
    send: <T = any>(method: string, path: string, options?: RequestOptions) => http<T>(baseUrl, method, path, options),
  };
}
