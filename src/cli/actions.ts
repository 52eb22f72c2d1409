import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { FormatError } from '../host/file-reader.js';
import { out, printJson } from './output.js';

/**
 * The bodies of the hot commands, shared by their oclif commands and the fast entry (which
 * starts without oclif). Each returns the exit code.
 */

export interface GenFlags {
  output?: string;
  root?: string;
  name?: string;
  'skip-unreadable'?: boolean;
}

export async function genAction(paths: string[], flags: GenFlags, extra: { runtime?: Set<string> } = {}): Promise<number> {
  const { generateSpec } = await import('../artifact/gen.js');
  const { warn } = await import('./errors.js');
  const skip = flags['skip-unreadable'] === true;
  let unreadable = 0;
  const onUnreadable = (path: string, reason: string) => {
    unreadable++;
    warn(`${path}: ${reason}${skip ? ' (skipped)' : ''}`);
  };
  const spec = generateSpec(paths, { root: flags.root, name: flags.name, onUnreadable, runtime: extra.runtime });
  if (unreadable > 0 && !skip) {
    const { FormatError } = await import('../host/file-reader.js');
    const subject = flags.root ?? paths.join(' ');
    throw new FormatError(subject, 'unreadable', `${unreadable} file${unreadable === 1 ? '' : 's'} could not be read (pass --skip-unreadable to describe the rest)`);
  }
  return emitSpec(spec, flags.output);
}

/** `gen --image REF`: the image unpacked into a temporary root, described, the root removed. */
export async function genImageAction(ref: string, flags: GenFlags & { registry: import('../artifact/image-root.js').ImageFlags }): Promise<number> {
  const { generateImageSpec } = await import('../artifact/image-root.js');
  const { warn } = await import('./errors.js');
  // An image's files are the image's: one that cannot be read is named, and the rest described.
  const spec = await generateImageSpec(ref, flags.registry, { name: flags.name, onUnreadable: (path, reason) => warn(`${path}: ${reason} (skipped)`) });
  return emitSpec(spec, flags.output);
}

async function emitSpec(spec: import('../artifact/spec-types.js').CompatSpec, output: string | undefined): Promise<number> {
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  if (output) {
    const { writeOutput } = await import('./output.js');
    await writeOutput(output, text);
    process.stderr.write(`wrote ${output}: ${spec.binaries.length} binar${spec.binaries.length === 1 ? 'y' : 'ies'}${spec.platform.glibc ? `, needs up to ${spec.platform.glibc}` : ''}\n`);
  } else await out(text);
  return 0;
}

export async function depsAction(binary: string, flags: { json?: boolean; root?: string; cwd?: string }): Promise<number> {
  const { dependencyReport, renderTree } = await import('../host/deps.js');
  const report = dependencyReport(binary, { root: flags.root, ldLibraryPath: process.env.LD_LIBRARY_PATH, preload: process.env.LD_PRELOAD, cwd: workingDir(flags.cwd), tunables: process.env.GLIBC_TUNABLES });
  if (flags.json) await printJson(report);
  else await out(renderTree(report));
  return report.missing.length > 0 ? 1 : 0;
}

/** A directory flag's value as an absolute path that must exist; `expects` says what it is for. */
function existingDir(dir: string | undefined, expects: string): string | undefined {
  if (dir === undefined) return undefined;
  const abs = resolvePath(dir);
  let ok = false;
  try {
    ok = statSync(abs).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new FormatError(abs, 'not-found', `is not a directory (${expects})`);
  return abs;
}

/** `--cwd DIR` as an absolute directory (where the application will run); it must exist. */
export function workingDir(dir: string | undefined): string | undefined {
  return existingDir(dir, '--cwd expects the directory the application will run in');
}

/** `--root DIR` as an absolute directory (a root file system checked as if it were `/`); it must exist. */
export function rootDir(dir: string | undefined): string | undefined {
  return existingDir(dir, '--root expects a root file system');
}

/**
 * `check SPEC|REF`, here or from the fast entry: the core's one fetch → index → check path. The
 * fast entry passes only files (src/artifact/spec-source.ts decides which arguments are).
 */
export async function checkAction(arg: string, flags: { json?: boolean; path?: string[]; cwd?: string; root?: string; registry?: import('../artifact/find-spec.js').SpecFlags }): Promise<number> {
  const { checkTarget } = await import('../artifact/spec-source.js');
  const env = { preload: process.env.LD_PRELOAD, cwd: workingDir(flags.cwd), tunables: process.env.GLIBC_TUNABLES };
  const { report } = await checkTarget(arg, { flags: flags.registry, extraDirs: flags.path, root: rootDir(flags.root), ldLibraryPath: process.env.LD_LIBRARY_PATH, env });
  return printReport(arg, report, flags.json);
}

export async function printReport(subject: string, report: import('../host/check.js').CheckReport, json?: boolean): Promise<number> {
  if (json) await printJson(report);
  else {
    const { renderReport } = await import('./render.js');
    await out(renderReport(subject, report));
  }
  return report.compatible ? 0 : 1;
}
