import * as Flags from '@oclif/core/flags';

/**
 * A flag given once per value (`-a k=v -a k2=v2`), as ORAS's and docker's are: each occurrence
 * takes exactly one word, so a positional after it stays a positional (oclif's plain `multiple`
 * would swallow it, and disagree with the fast entry's parser).
 */
export function repeatable(opts: { description: string; char?: NonNullable<Parameters<typeof Flags.string>[0]>['char']; helpGroup?: string; required?: boolean }) {
  return Flags.string({ ...opts, multiple: true, multipleNonGreedy: true });
}
