/**
 * Attachment bytes, keyed by their SHA-256 (sync-server/README.md, "Attachments"):
 * - PUT /api/attachments/:sha256 — body: the raw bytes with their content type. The server hashes
 *   them and refuses a mismatch; a repeat of the same hash stores nothing (201 the first time this
 *   user sends it, 200 after that — never a hint whether someone else sent the same bytes).
 * - GET /api/attachments/:sha256 — the bytes, to a user who may read a document that lists the hash
 *   or who uploaded it; anyone else gets the same 404 as for a hash that does not exist.
 *
 * The routes live in their own encapsulated plugin: a raw-bytes body parser and a body limit of
 * ATTACHMENT_LIMITS.maxBytes apply to them only (every other route keeps JSON and 1 MB).
 */
import { API_ROUTES } from '@emdad/domain';
import {
  attachmentRefusal,
  baseContentType,
  checkAttachmentFile,
  isAttachmentContentType,
  isSha256Hex,
} from '@emdad/domain/attachment-checks';
import { ATTACHMENT_LIMITS } from '@emdad/domain/model/index';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { canReadAttachment, readAttachment, sha256Hex, storeAttachment } from '../attachments.ts';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller, type Caller } from '../auth/session.ts';
import type { Db } from '../db/index.ts';
import { ApiError, errorBody } from '../errors.ts';
import { resolveScope } from '../replication/scope.ts';

export interface AttachmentRouteOptions {
  db: Db;
  tokens: TokenService;
  now: () => number;
}

/** The answer to a PUT: what the server holds under that hash. */
export interface AttachmentUploadResult {
  sha256: string;
  contentType: string;
  size: number;
}

function hashParam(request: FastifyRequest): string {
  const { sha256 } = request.params as { sha256?: string };
  if (!isSha256Hex(sha256))
    throw new ApiError(
      400,
      'validation_failed',
      'The attachment address must end in its SHA-256 as 64 lower-case hexadecimal digits.',
    );
  return sha256;
}

function tooLarge(size?: number): ApiError {
  return new ApiError(413, 'payload_too_large', attachmentRefusal('too_large', { size }).en);
}

export function registerAttachmentRoutes(app: FastifyInstance, options: AttachmentRouteOptions): void {
  const { db, tokens, now } = options;

  void app.register(async (scoped) => {
    const callers = new WeakMap<FastifyRequest, Caller>();

    // Raw bytes for every content type; which types are allowed is decided (with a sentence) below.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: ATTACHMENT_LIMITS.maxBytes },
      (_request, body, done) => done(null, body),
    );

    // Who is asking, and whether the upload can be accepted, is settled before any byte is read.
    scoped.addHook('onRequest', async (request) => {
      callers.set(request, await requireCaller(request, db, tokens));
      if (request.method !== 'PUT') return;
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > ATTACHMENT_LIMITS.maxBytes) throw tooLarge(declared);
      const type = baseContentType(request.headers['content-type']);
      if (!isAttachmentContentType(type))
        throw new ApiError(415, 'validation_failed', attachmentRefusal('unsupported_type').en);
    });

    // A body sent without Content-Length (chunked) meets the parser's limit instead: same sentence.
    scoped.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        const refusal = tooLarge();
        return reply.status(refusal.statusCode).send(errorBody(refusal.code, refusal.message));
      }
      throw error; // the server's own error handler answers everything else
    });

    scoped.put(
      API_ROUTES.attachment,
      { bodyLimit: ATTACHMENT_LIMITS.maxBytes },
      async (request, reply): Promise<AttachmentUploadResult> => {
        const caller = callers.get(request)!;
        const sha256 = hashParam(request);
        const body = request.body;
        const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
        const contentType = baseContentType(request.headers['content-type']);
        const refusal = checkAttachmentFile({ contentType, size: bytes.byteLength });
        if (refusal?.problem === 'too_large') throw tooLarge(bytes.byteLength);
        if (refusal) throw new ApiError(400, 'validation_failed', refusal.en);
        const actual = sha256Hex(bytes);
        if (actual !== sha256)
          throw new ApiError(
            400,
            'validation_failed',
            'The bytes received do not match the SHA-256 in the address (the upload was damaged or cut short). Send the attachment again.',
            { expected: sha256, received: actual },
          );
        const stored = await storeAttachment(db, {
          sha256,
          contentType,
          bytes,
          userId: caller.user.id,
          installId: caller.install.id,
          at: now(),
        });
        reply.status(stored.firstFromThisUser ? 201 : 200);
        return { sha256, contentType: stored.contentType, size: stored.size };
      },
    );

    scoped.get(API_ROUTES.attachment, async (request, reply) => {
      const caller = callers.get(request)!;
      const sha256 = hashParam(request);
      const readable = await canReadAttachment(db, await resolveScope(db, caller.user), sha256);
      const found = readable ? await readAttachment(db, sha256) : null;
      // Not readable and not stored answer alike: the address is no oracle for what others hold.
      if (!found)
        throw new ApiError(
          404,
          'not_found',
          readable
            ? `Attachment ${sha256} has not been uploaded yet by the device that attached it; try again later.`
            : `No attachment ${sha256} is visible to you.`,
        );
      return reply
        .header('content-type', found.contentType)
        .header('content-length', String(found.bytes.byteLength))
        .header('content-disposition', `attachment; filename="${sha256}"`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(found.bytes);
    });
  });
}
