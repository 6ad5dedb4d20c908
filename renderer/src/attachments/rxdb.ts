/**
 * The RxDB side of attachments, in one place for db/database.ts: RxDB's attachments plugin (bytes
 * kept beside their document), the plugin that keeps referenced bytes when a pulled document
 * replaces the local one (keep-referenced.ts), and the schema switch (schema.ts).
 */
import { addRxPlugin } from 'rxdb';
import { RxDBAttachmentsPlugin } from 'rxdb/plugins/attachments';
import { RxDBKeepReferencedAttachmentsPlugin } from './keep-referenced.ts';

addRxPlugin(RxDBAttachmentsPlugin);
addRxPlugin(RxDBKeepReferencedAttachmentsPlugin);

export { rxSchemaWithAttachments, withAttachmentStorage, hasAttachmentRefs } from './schema.ts';
