import { machineName } from '../host/elf.js';
import { checkApp, type CheckReport } from '../host/check.js';
import { containerView, type HostIndex } from '../host/host-index.js';
import { splitLibraryPath, splitPreloadList } from '../host/loader.js';
import { loaderPlatform } from '../host/platform.js';
import type { LegacyPlatform } from './legacy.js';
import { type CompatSpec, parseSpec } from './spec.js';

export interface SpecCheckOptions {
  extraDirs?: string[];
  /** LD_LIBRARY_PATH as the application will run with it. */
  ldLibraryPath?: string;
  indexFile?: string;
  /** LD_PRELOAD as the application will run with it. */
  preload?: string;
  /** The node's preload file (default /etc/ld.so.preload; null for none). */
  preloadFile?: string | null;
  /** Where the application will run (default: this process's working directory). */
  cwd?: string;
  /** GLIBC_TUNABLES as the application will run with it (`glibc.cpu.hwcaps` masks). */
  tunables?: string;
  /** Check against this root file system as if it were the node's `/`. */
  root?: string;
}

/** What a check takes from the environment the application will run in. */
export type RunEnvironment = Pick<SpecCheckOptions, 'preload' | 'preloadFile' | 'cwd' | 'tunables'> & { path?: string };

const legacyPlatforms = new WeakMap<HostIndex, LegacyPlatform>();

/** The legacy format records no platform: it means the node's own (worked out once per index). */
export function legacyPlatformOf(index: HostIndex): LegacyPlatform {
  let p = legacyPlatforms.get(index);
  if (!p) {
    p = { machine: machineName(index.machine), class: index.class, interpreter: loaderPlatform(index.machine, index.class, '/', { hwcaps: [] }).interpreter };
    legacyPlatforms.set(index, p);
  }
  return p;
}

/** `env.path`: PATH as the application's scripts will run with it (check's own when not given). */
export function checkSpec(spec: CompatSpec, index: HostIndex, ldLibraryPath?: string, env: RunEnvironment = {}): CheckReport {
  // An image runs in its own root: nothing of the node's files or of this shell's loader
  // environment reaches it, only the node's CPU.
  if (spec.image) {
    const searchDirs = [...(spec.loader?.ldSoConf ?? []), ...(spec.loader?.defaultDirs ?? [])];
    return checkApp(spec, containerView(index), { ...(env.tunables !== undefined ? { tunables: env.tunables } : {}), searchDirs });
  }
  return checkApp(spec, index, {
    ldLibraryPath: splitLibraryPath(ldLibraryPath),
    ...(env.preload !== undefined ? { preload: splitPreloadList(env.preload) } : {}),
    ...(env.preloadFile !== undefined ? { preloadFile: env.preloadFile } : {}),
    ...(env.cwd !== undefined ? { cwd: env.cwd } : {}),
    ...(env.tunables !== undefined ? { tunables: env.tunables } : {}),
    ...(env.path !== undefined ? { path: env.path } : {}),
  });
}

export function checkSpecText(text: string, source: string, index: HostIndex, ldLibraryPath?: string, env: RunEnvironment = {}): { spec: CompatSpec; report: CheckReport } {
  const spec = parseSpec(text, source, { legacyPlatform: legacyPlatformOf(index) });
  return { spec, report: checkSpec(spec, index, ldLibraryPath, env) };
}
