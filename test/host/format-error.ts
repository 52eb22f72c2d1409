import { expect } from '@jest/globals';
import { FormatError, type FormatErrorKind } from '../../src/host/file-reader.js';

/** The FormatError `fn` throws; fails the test if it returns or throws anything else. */
export function formatError(fn: () => unknown): FormatError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error('expected a FormatError, but the call returned');
  if (!(thrown instanceof FormatError)) throw thrown;
  return thrown;
}

/** A FormatError of `kind` whose message names `path` first, as the one-line error contract wants. */
export function expectFormatError(fn: () => unknown, path: string, kind: FormatErrorKind): FormatError {
  const e = formatError(fn);
  expect(e.kind).toBe(kind);
  expect(e.file).toBe(path);
  expect(e.name).toBe('FormatError');
  expect(e.message.startsWith(`${path}: `)).toBe(true);
  return e;
}
