import * as init from './0001-init';
import * as internalApi from './0002-internal-api';

/** Every migration, in the order it is applied. Append; never edit one that has shipped. */
export const MIGRATIONS: ReadonlyArray<{ id: string; sql: string }> = [init, internalApi];
