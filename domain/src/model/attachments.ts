/**
 * Attachment references: the replicated half of an attachment (photos of receipts and devices, raw
 * diagnostic logs). A document lists its attachments as references keyed by the SHA-256 of their
 * content; the bytes are kept offline beside the document (RxDB attachments on clients) and travel
 * through their own endpoints keyed by that hash, so a retried upload is never stored twice.
 * Collections that carry attachments add `attachments: attachmentRefsField` to their schema.
 */
import { isoDate, text } from './common.ts';

/** What a device may attach. Images are compressed on the device before they are attached. */
export const ATTACHMENT_CONTENT_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'application/pdf',
  'text/plain',
  'application/json',
] as const;
export type AttachmentContentType = (typeof ATTACHMENT_CONTENT_TYPES)[number];

export const ATTACHMENT_LIMITS = {
  /** One attachment's bytes. */
  maxBytes: 5 * 1024 * 1024,
  /** Attachments on one document. */
  maxPerDocument: 10,
  nameMax: 200,
} as const;

export interface AttachmentRef {
  /** SHA-256 of the content, lower-case hex: the attachment's identity everywhere. */
  sha256: string;
  /** The file name shown to people (not used as a key). */
  name: string;
  contentType: AttachmentContentType;
  size: number;
  /** Client clock, ISO 8601: when it was attached. */
  addedAt: string;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export const attachmentRefField = {
  type: 'object',
  additionalProperties: false,
  properties: {
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 },
    name: text(ATTACHMENT_LIMITS.nameMax, 1),
    contentType: { type: 'string', enum: [...ATTACHMENT_CONTENT_TYPES], maxLength: 40 },
    size: { type: 'integer', minimum: 1, maximum: ATTACHMENT_LIMITS.maxBytes },
    addedAt: isoDate,
  },
  required: ['sha256', 'name', 'contentType', 'size', 'addedAt'],
} as const;

/** The `attachments` property of a collection schema (an empty list when there are none). */
export const attachmentRefsField = {
  type: 'array',
  maxItems: ATTACHMENT_LIMITS.maxPerDocument,
  items: attachmentRefField,
} as const;
