import type { ApiErrorBody, ErrorCode } from '@emdad/domain';
import type { FastifyError, FastifyInstance } from 'fastify';

/** An error a route throws on purpose: sent as `{ error: { code, message } }` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: ErrorCode, message: string, details?: unknown): ApiErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

/** Fastify's own errors (body parser, schema, limits), mapped to our stable codes. */
function fromFastifyError(error: FastifyError): { status: number; code: ErrorCode; message: string } | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'payload_too_large',
        message: 'The request body is larger than this route accepts.',
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'bad_request', message: 'The request body is not valid JSON.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'bad_request', message: 'Send the request body as application/json.' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        code: 'bad_request',
        message: 'The Content-Length header does not match the body.',
      };
    default:
      break;
  }
  if (error.validation)
    return { status: 400, code: 'validation_failed', message: `Invalid request: ${error.message}` };
  if (error.statusCode === 429)
    return {
      status: 429,
      code: 'rate_limited',
      message: 'Too many requests from this address; wait a minute.',
    };
  if (error.statusCode === 413)
    return { status: 413, code: 'payload_too_large', message: 'The request body is too large.' };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: 'bad_request', message: error.message };
  }
  return null;
}

/** Every error leaves the server as JSON with a stable code and a sentence, including 404s. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply.status(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    const mapped = fromFastifyError(error as FastifyError);
    if (mapped) return reply.status(mapped.status).send(errorBody(mapped.code, mapped.message));
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(errorBody('internal', 'An unexpected error occurred on the server.'));
  });
}
