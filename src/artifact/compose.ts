import { existsSync, realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ComposeApp, ComposeReport } from '../host/compose.js';
import { SpecError } from './errors.js';
import type { SpecFlags } from './find-spec.js';
import type { ImageFlags } from './image-root.js';
import type { CompatSpec } from './spec-types.js';

/**
 * `compose A B … [--into IMAGE|ROOTDIR]`: each argument a compat spec (file or reference) or
 * binaries/a directory described on the spot as `gen` does; the base an unpacked root, or an
 * image unpacked into a temporary root and removed afterwards.
 */
export async function composeTargets(args: string[], into: string | undefined, flags: ImageFlags & SpecFlags): Promise<ComposeReport> {
  if (args.length < 2) throw new SpecError(args[0] ?? 'compose', 'give at least two applications to compose (specs, binaries or directories)');
  const apps: ComposeApp[] = [];
  // One after the other: the first bad argument is the one reported.
  for (const a of args) apps.push(await loadApp(a, { ...flags, ociLayout: false }));
  uniqueNames(apps);
  const { composeApps } = await import('../host/compose.js');
  if (into === undefined) return composeApps({ apps });
  const { specSource } = await import('./spec-source.js');
  if (specSource(into, { ociLayout: flags.ociLayout }).kind === 'reference') {
    const { withImage } = await import('./image-root.js');
    return withImage(into, flags, (image) => composeApps({ apps, base: image.root, baseName: into }));
  }
  const root = posix.resolve(into);
  if (!isDirectory(root)) throw new SpecError(root, 'is not a directory (--into expects a root file system or an image reference)');
  return composeApps({ apps, base: root, baseName: into });
}

async function loadApp(arg: string, flags: SpecFlags): Promise<ComposeApp> {
  const { sniffInput, parseSpec } = await import('./spec.js');
  const described = isDirectory(arg) || (existsSync(arg) && sniffInput(arg).kind === 'elf');
  if (described) {
    const { generateSpec } = await import('./gen.js');
    const spec = generateSpec([arg]);
    return { name: spec.name ?? posix.basename(arg), source: arg, binaries: spec.binaries, hostBase: treeBase(arg, spec) };
  }
  const { loadSpecText } = await import('./spec-source.js');
  const loaded = await loadSpecText(arg, flags);
  const spec = parseSpec(loaded.text, arg);
  if (spec.kind === 'rootfs') throw new SpecError(arg, 'describes a root file system, not an application: give it as --into');
  return { name: spec.name ?? posix.basename(arg).replace(/\.json$/, ''), source: arg, binaries: spec.binaries };
}

/** The host directory gen's relative paths start from: the directory itself, or the lone binary's common directory. */
function treeBase(arg: string, spec: CompatSpec): string | undefined {
  const real = realpathSync.native(arg);
  if (isDirectory(real)) return real;
  for (let d = posix.dirname(real); ; d = posix.dirname(d)) {
    if (spec.binaries.every((b) => existsSync(posix.join(d, b.path)))) return d;
    if (d === '/') return undefined;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Two applications of one name get `-2`, `-3`…: each needs its own prefix. */
function uniqueNames(apps: ComposeApp[]): void {
  const seen = new Set<string>();
  for (const a of apps) {
    let name = a.name;
    for (let k = 2; seen.has(name); k++) name = `${a.name}-${k}`;
    a.name = name;
    seen.add(name);
  }
}
