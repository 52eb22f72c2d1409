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

export type Compression = 'gzip' | 'zstd' | 'none';

/** An uncompressed tar of `dir`'s contents as a layer's diff (numeric owner root, names relative, `./` dropped). */
export function tarOf(dir: string, names: string[] = ['.']): Buffer {
  return execFileSync('tar', ['-cf', '-', '-C', dir, '--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--mtime=@0', '--transform=s,^\\./,,', ...names], { maxBuffer: 1024 * 1024 * 1024 });
}

function compress(tar: Buffer, how: Compression): Buffer {
  if (how === 'none') return tar;
  return execFileSync(how === 'gzip' ? 'gzip' : 'zstd', ['-c', '-q', '-1'], { input: tar, maxBuffer: 1024 * 1024 * 1024 });
}

const LAYER_TYPE: Record<Compression, string> = { gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd, none: MediaType.OciLayer };

/**
 * A container image of the given layers (tars, applied in order) in a fresh OCI layout, tagged
 * `tag`: a real image config with diff_ids, so umoci and skopeo read it as any image. With
 * `platforms`, an index holding the same image once per platform.
 */
export async function makeLayeredImage(tag: string, layers: Array<{ tar: Buffer; compression?: Compression }>, opts: { platforms?: string[]; layout?: string } = {}): Promise<TestImage> {
  const dir = opts.layout ?? join(tempDir('image-'), 'layout');
  const l = await OciLayout.open(dir);
  const platforms = opts.platforms ?? ['linux/amd64'];
  const blobs: Descriptor[] = [];
  for (const x of layers) blobs.push(await pushBytes(l, compress(x.tar, x.compression ?? 'gzip'), LAYER_TYPE[x.compression ?? 'gzip']));
  const byPlatform: Record<string, string> = {};
  const entries: Descriptor[] = [];
  for (const p of platforms) {
    const [os, architecture, variant] = p.split('/') as [string, string, string | undefined];
    const config = Buffer.from(JSON.stringify({ architecture, os, ...(variant ? { variant } : {}), rootfs: { type: 'layers', diff_ids: layers.map((x) => sha256(x.tar)) }, config: { Cmd: ['/bin/sh'] } }));
    const cfg = await pushBytes(l, config, MediaType.OciConfig);
    const m = await pushManifest(l, { schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfg, layers: blobs }, platforms.length === 1 ? { reference: tag } : {});
    byPlatform[p] = m.digest;
    entries.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { os, architecture, ...(variant ? { variant } : {}) } });
  }
  let digest = Object.values(byPlatform)[0]!;
  if (platforms.length > 1) digest = (await pushManifest(l, { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries }, { reference: tag })).digest;
  return { layout: dir, tag, digest, platforms: byPlatform };
}

/**
 * A tar crafted entry by entry (Python's tarfile writes what tar(1) would refuse to make):
 * `{name, type: file|dir|symlink|link|chr|fifo, data?, size?, linkname?, mode?}`. `fill` appends that many
 * zero bytes to `data`; `size` larger than the data declares more than follows (a header for a 10 GB file, and only its first bytes).
 */
export function craftTar(entries: Array<{ name: string; type: 'file' | 'dir' | 'symlink' | 'link' | 'chr' | 'fifo'; data?: string; fill?: number; size?: number; linkname?: string; mode?: number }>): Buffer {
  const script = `
import io, json, sys, tarfile
entries = json.load(sys.stdin)
out = io.BytesIO()
t = tarfile.open(fileobj=out, mode='w', format=tarfile.PAX_FORMAT)
kinds = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE, 'link': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE, 'fifo': tarfile.FIFOTYPE}
for e in entries:
    i = tarfile.TarInfo(e['name'])
    i.type = kinds[e['type']]
    i.mode = e.get('mode', 0o755 if e['type'] == 'dir' else 0o644)
    i.linkname = e.get('linkname', '')
    data = e.get('data', '').encode() + bytes(e.get('fill', 0))
    if e['type'] == 'file':
        i.size = e.get('size', len(data))
    if i.type == tarfile.CHRTYPE:
        i.devmajor, i.devminor = 1, 3
    if e['type'] == 'file' and i.size > len(data):
        out.write(i.tobuf(tarfile.PAX_FORMAT))
        out.write(data)
        t.offset = out.tell()
        sys.stdout.buffer.write(out.getvalue())
        sys.exit(0)
    t.addfile(i, io.BytesIO(data) if e['type'] == 'file' else None)
t.close()
sys.stdout.buffer.write(out.getvalue())
`;
  return execFileSync('python3', ['-c', script], { input: JSON.stringify(entries), maxBuffer: 64 * 1024 * 1024 });
}
