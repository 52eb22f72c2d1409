import { describe, expect, it } from '@jest/globals';
import { parsePlatform, selectPlatform } from '../../src/registry/platform.js';
import type { ImageIndex } from '../../src/registry/target.js';

const entry = (digit: string, os: string, architecture: string, variant?: string) => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${digit.repeat(64)}`,
  size: 1,
  platform: { os, architecture, ...(variant ? { variant } : {}) },
});
const index: ImageIndex = { schemaVersion: 2, manifests: [entry('1', 'linux', 'amd64'), entry('2', 'linux', 'arm64', 'v8'), entry('3', 'linux', 'arm', 'v6'), entry('4', 'linux', 'arm'), entry('5', 'unknown', 'unknown')] };

describe('--platform', () => {
  it('matches os and architecture, with arm64 v8 and arm v7 as the default variants (as containerd)', () => {
    expect(selectPlatform(index, parsePlatform('linux/amd64'))?.digest).toBe(index.manifests[0]!.digest);
    expect(selectPlatform(index, parsePlatform('linux/arm64'))?.digest).toBe(index.manifests[1]!.digest);
    expect(selectPlatform(index, parsePlatform('linux/arm64/v8'))?.digest).toBe(index.manifests[1]!.digest);
    expect(selectPlatform(index, parsePlatform('linux/arm/v6'))?.digest).toBe(index.manifests[2]!.digest);
    expect(selectPlatform(index, parsePlatform('linux/arm'))?.digest).toBe(index.manifests[3]!.digest);
    expect(selectPlatform(index, parsePlatform('linux/s390x'))).toBeUndefined();
  });

  it('refuses what is not OS/ARCH[/VARIANT]', () => {
    for (const bad of ['linux', 'linux/', 'a/b/c/d', 'linux/amd 64']) expect(() => parsePlatform(bad)).toThrow(/expected OS\/ARCH\[\/VARIANT\]/);
  });
});
