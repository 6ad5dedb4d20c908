/** Authenticated requests to /api/attachments/:sha256 (a 401 rotates the tokens once and retries). */
import { API_ROUTES } from '@emdad/domain';
import type { ReplicationAuth } from '../sync/case-replication.ts';
import {
  ApiError,
  apiErrorFromResponse,
  fetchOrNetworkError,
  joinUrl,
  type FetchLike,
} from '../sync/http.ts';

export interface AttachmentTransportOptions {
  serverUrl: string;
  auth: ReplicationAuth;
  fetch?: FetchLike;
}

export interface AttachmentTransport {
  /** PUT the bytes; resolves on 200/201 (stored now or before), rejects with an ApiError. */
  upload(sha256: string, contentType: string, bytes: Blob): Promise<void>;
  /** GET the bytes; rejects with an ApiError (404 `not_found`: not readable or not uploaded yet). */
  download(sha256: string): Promise<Blob>;
}

export function createAttachmentTransport(options: AttachmentTransportOptions): AttachmentTransport {
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const url = (sha256: string) =>
    joinUrl(options.serverUrl, API_ROUTES.attachment.replace(':sha256', encodeURIComponent(sha256)));

  async function authed(target: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await options.auth.getAccessToken();
      if (!token) throw new ApiError('unauthenticated', 401, 'no access token: sign in online');
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      const res = await fetchOrNetworkError(fetchImpl, target, { ...init, headers });
      if (res.ok) return res;
      const error = await apiErrorFromResponse(res);
      if (res.status === 401 && attempt === 0 && (await options.auth.refresh())) continue;
      throw error;
    }
  }

  return {
    async upload(sha256, contentType, bytes) {
      const res = await authed(url(sha256), {
        method: 'PUT',
        headers: { 'content-type': contentType },
        body: bytes,
      });
      await res.arrayBuffer().catch(() => undefined);
    },
    async download(sha256) {
      const res = await authed(url(sha256), { method: 'GET' });
      const type = res.headers.get('content-type') ?? 'application/octet-stream';
      const bytes = await res.arrayBuffer();
      return new Blob([bytes], { type });
    },
  };
}
