import { RegistryError } from './errors.js';
import type { Descriptor, ImageIndex } from './target.js';

/** A platform as `--platform os/arch[/variant]` names it (image spec, image-index.md). */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's `process.arch` in the GOARCH words image indexes use. */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };

/** `os/arch[/variant]`; anything else is refused naming the flag. */
export function parsePlatform(text: string, flag = '--platform'): PlatformSpec {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) {
    throw new RegistryError('INVALID_REFERENCE', `${flag} ${text}: expected OS/ARCH[/VARIANT] (e.g. linux/amd64, linux/arm64/v8)`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** The platform this process runs on, as an index would list it. */
export function hostPlatform(): PlatformSpec {
  // No variant: selectPlatform supplies arm's and arm64's defaults (v7, v8).
  return { os: process.platform, architecture: GOARCH[process.arch] ?? process.arch };
}

export function formatPlatform(p: PlatformSpec): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** containerd's normalisation: arm64's variant defaults to v8, arm's to v7. */
function variantOf(architecture: string, variant: string | undefined): string | undefined {
  if (variant) return variant;
  return architecture === 'arm64' ? 'v8' : architecture === 'arm' ? 'v7' : undefined;
}

/**
 * The entry of an index for `want`: same os and architecture, and the same variant when `want`
 * names one (or its architecture has a default one); the first such entry, as containerd picks.
 */
export function selectPlatform(index: ImageIndex, want: PlatformSpec): Descriptor | undefined {
  const wantVariant = variantOf(want.architecture, want.variant);
  return index.manifests.find((d) => {
    const p = d.platform;
    if (!p || p.os !== want.os || p.architecture !== want.architecture) return false;
    return wantVariant === undefined || variantOf(p.architecture, p.variant) === wantVariant;
  });
}
