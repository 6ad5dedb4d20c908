import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { caseJsonSchema } from './case.ts';
import { validationSchemaOf, type CollectionName } from './model/index.ts';

// ajv-formats ships CommonJS; under ESM its default export may arrive wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

let caseValidator: ValidateFunction | undefined;

export interface SchemaIssue {
  path: string;
  message: string;
}

function issues(errors: ErrorObject[] | null | undefined): SchemaIssue[] {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'invalid' }));
}

/** Validates a case (without RxDB's `_` fields) against the one case schema. Compiled once, lazily. */
export function validateCaseDocument(doc: unknown): { ok: true } | { ok: false; issues: SchemaIssue[] } {
  if (!caseValidator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    caseValidator = ajv.compile(caseJsonSchema);
  }
  return caseValidator(doc) ? { ok: true } : { ok: false, issues: issues(caseValidator.errors) };
}

const collectionValidators = new Map<string, ValidateFunction>();

/**
 * Validates a document of any replicated collection (without RxDB's `_` fields) against its schema
 * in the model registry (domain/src/model). Compiled once per collection, lazily.
 */
export function validateCollectionDocument(
  collection: CollectionName,
  doc: unknown,
): { ok: true } | { ok: false; issues: SchemaIssue[] } {
  let validator = collectionValidators.get(collection);
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validator = ajv.compile(validationSchemaOf(collection));
    collectionValidators.set(collection, validator);
  }
  return validator(doc) ? { ok: true } : { ok: false, issues: issues(validator.errors) };
}
