import { uuidv7 } from 'uuidv7';

/** Sortable, globally unique document id (UUIDv7: time-ordered, safe to mint offline). */
export function newId(): string {
  return uuidv7();
}
