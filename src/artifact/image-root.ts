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
