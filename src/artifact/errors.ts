/** Input that is not a usable compat spec; `expose` marks it as the user's to fix (exit 2). */
export class SpecError extends Error {
  readonly expose = true;
  constructor(
    readonly source: string,
    detail: string,
  ) {
    super(`${source}: ${detail}`);
    this.name = 'SpecError';
  }
}
