import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MediaType, OciLayout, pushBytes, pushManifest, type Descriptor } from '../../src/registry/index.js';
import { tempDir } from './fixtures.js';

export interface TestImage {
  layout: string;
  tag: string;
  /** The manifest (one platform) or index the tag names. */
  digest: string;
  /** `os/arch[/variant]` → that platform's image manifest digest. */
  platforms: Record<string, string>;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A gzipped layer holding one small file, made by the system's tar. */
function layer(text: string): Buffer {
  const dir = mkdtempSync(join(tempDir('image-layer-'), 'l-'));
  writeFileSync(join(dir, 'hello.txt'), text);
  execFileSync('tar', ['-czf', join(dir, '..', 'layer.tar.gz'), '-C', dir, '--mtime=@0', '--owner=0', '--group=0', 'hello.txt']);
  return readFileSync(join(dir, '..', 'layer.tar.gz'));
}

/**
 * A small real OCI image in a fresh layout (one platform: a manifest; several: an index), tagged
 * `tag`: each platform has a config and one layer, so skopeo inspects and copies it as any image.
 */
export async function makeImage(tag: string, platforms: string[] = ['linux/amd64']): Promise<TestImage> {
  const dir = join(tempDir('image-'), 'layout');
  const l = await OciLayout.open(dir);
  const byPlatform: Record<string, string> = {};
  const entries: Descriptor[] = [];
  for (const p of platforms) {
    const [os, architecture, variant] = p.split('/') as [string, string, string | undefined];
    const gz = layer(`hello from ${p}\n`);
    const lay = await pushBytes(l, gz, MediaType.OciLayerGzip);
    const config = Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: [sha256(gunzipSync(gz))] }, config: {} }));
    const cfg = await pushBytes(l, config, MediaType.OciConfig);
    const m = await pushManifest(l, { schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfg, layers: [lay] }, platforms.length === 1 ? { reference: tag } : {});
    byPlatform[p] = m.digest;
    entries.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os, architecture, ...(variant ? { variant } : {}) } });
  }
  let digest = Object.values(byPlatform)[0]!;
  if (platforms.length > 1) digest = (await pushManifest(l, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries }, { reference: tag })).digest;
  return { layout: dir, tag, digest, platforms: byPlatform };
}

/** Puts the image into a registry with skopeo (a pusher that is not compat), digests kept. */
export function skopeoPush(image: TestImage, dest: string): void {
  execFileSync('skopeo', ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '-q', `oci:${image.layout}:${image.tag}`, `docker://${dest}`], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A copy of a spec file with another `created` (what orders attached specs) and, optionally, one more needed soname. */
export function specVariant(src: string, out: string, created: string, extraSoname?: string): string {
  const spec = JSON.parse(readFileSync(src, 'utf8')) as { created?: string; binaries: Array<{ needed: Array<{ soname: string; versions: string[] }> }> };
  spec.created = created;
  if (extraSoname) spec.binaries[0]!.needed.push({ soname: extraSoname, versions: [] });
  writeFileSync(out, JSON.stringify(spec));
  return out;
}
