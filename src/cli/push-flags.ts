import * as Flags from '@oclif/core/flags';
import { repeatable } from './repeatable.js';

/** What `push` and `attach` both take, as ORAS names them. */
export const pushFlags = {
  'artifact-type': Flags.string({ description: 'Artifact type of files pushed ORAS-style (refused for a compat spec, whose type is compat\'s).' }),
  annotation: repeatable({ char: 'a', description: 'KEY=VALUE manifest annotation.' }),
  'annotation-file': Flags.string({ description: 'Annotations in ORAS\'s JSON format: {"$manifest": {"KEY": "VALUE"}, "FILE": {"KEY": "VALUE"}}.' }),
  json: Flags.boolean({ description: 'Print the result as JSON.' }),
};

/** `-a KEY=VALUE…` as a record; `fail` reports a malformed one. */
export function parseAnnotations(list: string[] | undefined, fail: (message: string) => never): Record<string, string> {
  return Object.fromEntries(
    (list ?? []).map((a) => {
      const i = a.indexOf('=');
      if (i <= 0) fail(`annotation ${JSON.stringify(a)}: expected KEY=VALUE`);
      return [a.slice(0, i), a.slice(i + 1)];
    }),
  );
}
