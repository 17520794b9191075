/**
 * Expected protocol outcomes are values, not exceptions (docs/architecture.md: errors of the third kind):
 * `{ ok: true, value }` or `{ ok: false, reason, …details }`.
 */

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

/** A failure with a machine-readable `reason` (kebab-case) and any details beside it. */
export type Fail<R extends string = string, D extends object = object> = {
  readonly ok: false;
  readonly reason: R;
} & D;

export type Result<T, R extends string = string, D extends object = object> = Ok<T> | Fail<R, D>;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function fail<R extends string, D extends object = object>(reason: R, details?: D): Fail<R, D> {
  return { ok: false, reason, ...(details ?? ({} as D)) };
}
