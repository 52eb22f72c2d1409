import type { ImageRoot } from '../registry/image-root.js';
import { generateSpec, type GenOptions } from './gen.js';
import type { CompatSpec } from './spec-types.js';
import { locate, type LocateFlags } from './targets.js';

/** The registry flags, which platform of an index, and where the temporary root goes. */
export interface ImageFlags extends LocateFlags {
  /** `os/arch[/variant]` of an index (default: this machine's). */
  platform?: string;
  /** Parent of the temporary root (default: the system's temporary directory). */
  tmpDir?: string;
}

/**
 * Unpacks the image `ref` names into a temporary root, hands it to `use`, and removes it (on an
 * error or a signal too): what `gen --image`, `bind-check IMAGE` and `check --image` share.
 */
export async function withImage<T>(ref: string, flags: ImageFlags, use: (image: ImageRoot) => Promise<T> | T): Promise<T> {
  const { withImageRoot, parsePlatform } = await import('../registry/index.js');
  const located = await locate(ref, flags);
  if (!located.reference) throw new (await import('./errors.js')).SpecError(ref, 'names no tag or digest (expected REPOSITORY:TAG or REPOSITORY@DIGEST)');
  const platform = flags.platform !== undefined ? parsePlatform(flags.platform) : undefined;
  return withImageRoot(located.target, located.reference, { label: ref, tmpDir: flags.tmpDir, ...(platform ? { platform } : {}) }, async (image) => use(image));
}

/** `gen --image REF`: the image's root described as `gen --root` describes one, with its loader's configuration. */
export async function generateImageSpec(ref: string, flags: ImageFlags, opts: Pick<GenOptions, 'name' | 'created' | 'onUnreadable'> = {}): Promise<CompatSpec> {
  const { describeRootLoader } = await import('../host/root-loader.js');
  return withImage(ref, flags, (image) => {
    const spec = generateSpec([], { ...opts, root: image.root, name: opts.name ?? imageName(ref) });
    const platform = image.config.os && image.config.architecture ? `${image.config.os}/${image.config.architecture}${image.config.variant ? `/${image.config.variant}` : ''}` : undefined;
    spec.image = { reference: ref, digest: image.descriptor.digest, ...(image.resolved !== image.descriptor.digest ? { index: image.resolved } : {}), ...(platform ? { platform } : {}) };
    spec.loader = describeRootLoader(image.root);
    return spec;
  });
}

/** The repository's last component, without tag or digest: `registry/apps/solver:1.2` → `solver`. */
function imageName(ref: string): string {
  const noDigest = ref.replace(/@.*$/, '');
  const last = noDigest.split('/').pop() ?? noDigest;
  return last.replace(/:[^:]*$/, '') || noDigest;
}

/** `bind-check IMAGE --lib …`: the bind resolved inside the image's unpacked root; the report names the image. */
export async function bindCheckImage(ref: string, flags: ImageFlags, opts: Omit<import('../host/bind-check.js').BindCheckOptions, 'root'>): Promise<import('../host/bind-check.js').BindReport> {
  const { bindCheck } = await import('../host/bind-check.js');
  return withImage(ref, flags, (image) => {
    const report = bindCheck({ ...opts, root: image.root });
    return { ...report, container: { ...report.container, root: ref } };
  });
}

/** `check SPEC --image IMAGE`: will the application run inside that container? Its root indexed as the node. */
export async function checkInImage(spec: string, ref: string, flags: ImageFlags, opts: Omit<import('./spec-source.js').CheckTargetOptions, 'index' | 'root'> = {}): Promise<import('../host/check.js').CheckReport> {
  const { checkTarget, loadSpecText } = await import('./spec-source.js');
  const { scanHost } = await import('../host/host-index.js');
  // The spec first: a bad file is refused before any layer is pulled.
  await loadSpecText(spec, opts.flags);
  return withImage(ref, flags, async (image) => {
    // Indexed in memory only: an index file of a temporary root would be stale at once.
    const index = scanHost({ root: image.root, extraDirs: opts.extraDirs });
    return (await checkTarget(spec, { ...opts, index })).report;
  });
}
