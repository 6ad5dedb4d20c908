/** Small HTTP helpers shared by the sign-in service and the replication client. */
import { isErrorCode, type ApiErrorBody, type ErrorCode } from '@emdad/domain';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** An error the UI can put into words: `code` indexes ERROR_SENTENCES. `status` null = no answer. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** True when the server was not reached at all (as opposed to answering with an error). */
  get isNetwork(): boolean {
    return this.status === null;
  }
}

export function joinUrl(serverUrl: string, path: string): string {
  return serverUrl.replace(/\/+$/, '') + path;
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'internal';
}

/** Turns a non-2xx response into an ApiError, reading `{ error: { code, message } }` when present. */
export async function apiErrorFromResponse(res: Response): Promise<ApiError> {
  let code: ErrorCode = codeForStatus(res.status);
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as Partial<ApiErrorBody>;
    if (body?.error && isErrorCode(body.error.code)) {
      code = body.error.code;
      message = body.error.message ?? message;
    }
  } catch {
    // Not JSON (a proxy's error page): the status code alone decides.
  }
  return new ApiError(code, res.status, message);
}

/** fetch that turns "no answer" (DNS, refused, offline, aborted) into ApiError('network_unavailable'). */
export async function fetchOrNetworkError(
  fetchImpl: FetchLike,
  url: string,
  init?: RequestInit,
): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (err) {
    if (init?.signal?.aborted) throw err;
    throw new ApiError('network_unavailable', null, err instanceof Error ? err.message : String(err));
  }
}
