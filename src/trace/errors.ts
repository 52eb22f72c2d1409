/** Bad input to a trace command: `compat: <subject>: <what is wrong>`, exit 2. */
export class TraceError extends Error {
  readonly expose = true;
  constructor(readonly subject: string, detail: string) {
    super(`${subject}: ${detail}`);
    this.name = 'TraceError';
  }
}
