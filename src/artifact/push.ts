import { existsSync, statSync } from 'node:fs';
import { basename, isAbsolute, posix, resolve } from 'node:path';
import { probeFile } from '../host/elf.js';
import { fileTypeName } from '../host/file-reader.js';
import type { ArtifactSummary } from '../registry/summary.js';
import type { Descriptor, Manifest, Target } from '../registry/target.js';
import { SpecError } from './errors.js';
import { isLegacy } from './legacy.js';
import { type ArtifactKind, describe as describeBytes, packSpec, specAnnotations } from './pack.js';
import { type CompatSpec, MAX_SPEC_BYTES, MEDIA_TYPES, parseSpec, readInputFile, sniffInput } from './spec.js';
import { PUSH_TEMP_PREFIX } from './store.js';
import { locate, type Located, splitLayoutRef } from './targets.js';
import type { TransferOptions } from './transfer.js';

const TITLE = 'org.opencontainers.image.title';
const CREATED = 'org.opencontainers.image.created';
/** `type/subtype` with the characters RFC 6838 allows, and parameters after `;`. */
const MEDIA_TYPE = /^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*(;.*)?$/;
const ANNOTATION_FILE_CAP = 4 * 1024 * 1024;

export interface PushOptions extends TransferOptions {
  /** For files pushed ORAS-style; refused for a spec, whose type is compat's. */
  artifactType?: string;
  /** `-a KEY=VALUE`: manifest annotations. */
  annotations?: Record<string, string>;
  /** ORAS's `--annotation-file`: `{"$manifest": {…}, "FILE": {…}}`. */
  annotationFile?: string;
}

export interface PushResult {
  reference: string;
  descriptor: Descriptor;
  manifest: Manifest;
  kind: ArtifactKind;
  /** Every tag the manifest was given. */
  tags: string[];
  summary: ArtifactSummary;
}

/** One file argument: where it is, its title in the artifact, and the media type given with `FILE:TYPE`. */
interface Input {
  arg: string;
  path: string;
  title: string;
  mediaType?: string;
  isDir: boolean;
}

interface Annotations {
  manifest: Record<string, string>;
  /** By title. */
  layers: Record<string, Record<string, string>>;
}

async function registry() {
  return import('../registry/index.js');
}

/**
 * `push REF[:t1,t2…] FILE[:TYPE]…`: a spec (or legacy file) goes up as a compat artifact; an ELF
 * file is described on the fly; anything else ORAS-style, one titled layer per file, directories
 * as tar+gzip. A spec among other files stays the compat spec layer of the artifact.
 */
export async function pushFiles(ref: string, args: string[], opts: PushOptions = {}): Promise<PushResult> {
  if (args.length === 0) throw new SpecError(ref, 'nothing to push: name at least one file');
  const { first, tags } = splitTags(ref, !!opts.ociLayout);
  const inputs = prepareInputs(args);
  const annotations = annotationsFor(inputs, opts);
  const located = await locate(first, opts);
  if (!located.reference && !opts.ociLayout) throw new SpecError(ref, 'name a tag to push to (REPO:TAG)');
  const pushed = await pushInputs(located, located.reference, inputs, annotations, opts);
  for (const t of tags.slice(1)) await located.target.tag(pushed.descriptor, t);
  const { artifactSummary } = await registry();
  return { reference: ref, ...pushed, tags, summary: artifactSummary(ref, pushed.descriptor, pushed.manifest) };
}

/**
 * `attach SUBJECT FILE…`: the files as an artifact whose `subject` is the image. A lone spec (or
 * ELF, described on the fly) is a compat artifact; other files need `--artifact-type`, as in ORAS.
 */
export async function attachFiles(subjectRef: string, args: string[], opts: PushOptions = {}): Promise<PushResult & { subject: Descriptor }> {
  if (args.length === 0) throw new SpecError(subjectRef, 'nothing to attach: name at least one file');
  const inputs = prepareInputs(args);
  const annotations = annotationsFor(inputs, opts);
  const located = await locate(subjectRef, opts);
  if (!located.reference) throw new SpecError(subjectRef, 'name the subject by tag or digest');
  const subject = await located.target.resolve(located.reference);
  const pushed = await pushInputs(located, undefined, inputs, annotations, opts, subject);
  const where = located.repository ? `${located.repository.registry}/${located.repository.repository}` : splitLayoutRef(subjectRef).dir;
  const reference = `${where}@${pushed.descriptor.digest}`;
  const { artifactSummary } = await registry();
  return { reference, ...pushed, tags: [], subject, summary: artifactSummary(reference, pushed.descriptor, pushed.manifest) };
}

/** `REPO:a,b,c` (or `DIR:a,b` with --oci-layout): the reference with its first tag, and all the tags. */
export function splitTags(ref: string, layout: boolean): { first: string; tags: string[] } {
  const colon = ref.lastIndexOf(':');
  const afterSlash = ref.lastIndexOf('/');
  if (colon < 0 || colon < afterSlash || ref.includes('@')) return { first: ref, tags: [] };
  const tagPart = ref.slice(colon + 1);
  // Without --oci-layout, `host:port` alone has no tag.
  if (!layout && afterSlash < 0) return { first: ref, tags: [] };
  const tags = tagPart.split(',');
  if (tags.some((t) => t === '')) throw new SpecError(ref, 'an empty tag in the list (REPO:TAG1,TAG2)');
  if (new Set(tags).size !== tags.length) throw new SpecError(ref, 'a tag named twice');
  return { first: `${ref.slice(0, colon)}:${tags[0]}`, tags };
}

function prepareInputs(args: string[]): Input[] {
  const byTitle = new Map<string, string>();
  return args.map((arg) => {
    const { path, mediaType } = fileArg(arg);
    const isDir = assertPushable(path).isDirectory();
    const title = titleOf(path);
    const other = byTitle.get(title);
    if (other !== undefined) throw new SpecError(arg, `has the same title ${JSON.stringify(title)} as ${other}: pull could write only one of them`);
    byTitle.set(title, arg);
    return { arg, path, title, isDir, ...(mediaType ? { mediaType } : {}) };
  });
}

/** `FILE:TYPE` as ORAS reads it; a file whose own name has a colon is taken whole. */
function fileArg(arg: string): { path: string; mediaType?: string } {
  if (existsSync(arg)) return { path: arg };
  const i = arg.lastIndexOf(':');
  if (i <= 0 || !existsSync(arg.slice(0, i))) return { path: arg };
  const mediaType = arg.slice(i + 1);
  if (!MEDIA_TYPE.test(mediaType)) throw new SpecError(arg, `${JSON.stringify(mediaType)} is not a media type (TYPE/SUBTYPE)`);
  return { path: arg.slice(0, i), mediaType };
}

/**
 * The title a file gets: the relative path as typed (`docs/hi.txt`, as ORAS keeps it), so that
 * `pull -o` puts it back there; an absolute path or one climbing out with `..` keeps its name only.
 */
function titleOf(path: string): string {
  const norm = posix.normalize(path.replace(/\/+$/, ''));
  if (isAbsolute(path) || norm === '.' || norm === '..' || norm.startsWith('../')) return basename(resolve(path));
  return norm;
}

/** A regular file or a directory; anything else (a FIFO would block, a device never end) is refused up front. */
function assertPushable(f: string) {
  let st;
  try {
    st = statSync(f);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(f, code === 'ENOENT' ? 'no such file or directory' : (e as Error).message);
  }
  if (!st.isFile() && !st.isDirectory()) throw new SpecError(f, `is a ${fileTypeName(st)}, not a regular file`);
  return st;
}

/** `-a` and `--annotation-file` together; a key given by both, or a file the annotation file names but nobody pushes, is refused. */
function annotationsFor(inputs: Input[], opts: PushOptions): Annotations {
  const out: Annotations = { manifest: { ...opts.annotations }, layers: {} };
  if (!opts.annotationFile) return out;
  const file = opts.annotationFile;
  const doc = readAnnotationFile(file);
  for (const [key, values] of Object.entries(doc)) {
    if (key === '$manifest') {
      for (const [k, v] of Object.entries(values)) {
        if (k in out.manifest) throw new SpecError(file, `annotation ${k} is also given with --annotation`);
        out.manifest[k] = v;
      }
      continue;
    }
    if (key === '$config') throw new SpecError(file, 'config annotations ("$config") are not supported: the config is the empty descriptor');
    const input = inputs.find((i) => i.title === key || i.arg === key || i.path === key);
    if (!input) throw new SpecError(file, `annotates ${JSON.stringify(key)}, which is not among the files pushed (${inputs.map((i) => i.title).join(', ')})`);
    out.layers[input.title] = { ...out.layers[input.title], ...values };
  }
  return out;
}

function readAnnotationFile(file: string): Record<string, Record<string, string>> {
  let doc: unknown;
  try {
    doc = JSON.parse(readInputFile(file, ANNOTATION_FILE_CAP).toString('utf8'));
  } catch (e) {
    if (e instanceof SpecError) throw e;
    throw new SpecError(file, `not valid JSON (${(e as Error).message})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const shape = 'expected {"$manifest": {"KEY": "VALUE"}, "FILE": {"KEY": "VALUE"}}';
  if (!isObject(doc)) throw new SpecError(file, shape);
  for (const [key, values] of Object.entries(doc)) {
    if (!isObject(values) || Object.values(values).some((v) => typeof v !== 'string')) throw new SpecError(file, `${JSON.stringify(key)}: ${shape}`);
  }
  return doc as Record<string, Record<string, string>>;
}

/**
 * Is this file a compat spec (or the seed's legacy format)? Decided by its first bytes: only a
 * JSON object within the spec cap is read whole.
 */
function asSpec(path: string): CompatSpec | 'legacy' | undefined {
  const { kind, size } = sniffInput(path);
  if (kind !== 'json' || size > MAX_SPEC_BYTES) return undefined;
  const text = readInputFile(path).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (isLegacy(doc)) return 'legacy';
  if (doc && typeof doc === 'object' && 'schemaVersion' in doc) return parseSpec(text, path);
  return undefined;
}

/**
 * compat's other documents declare their own type (`"mediaType": "application/vnd.compspec.compat.cache.v1+json"`
 * for a location cache): pushed without `:TYPE`, they keep it, and the artifact is typed after it.
 */
function declaredCompatType(path: string): string | undefined {
  const { kind, size } = sniffInput(path);
  if (kind !== 'json' || size > MAX_SPEC_BYTES) return undefined;
  try {
    const t = (JSON.parse(readInputFile(path).toString('utf8')) as { mediaType?: unknown }).mediaType;
    return typeof t === 'string' && /^application\/vnd\.compspec\.compat\.[\w.-]+\+json$/.test(t) && t !== MEDIA_TYPES.spec ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Inputs typed by what they declare, and the artifact type they imply when all agree and none was given. */
function withDeclaredTypes(inputs: Input[], opts: PushOptions): { inputs: Input[]; artifactType?: string } {
  const typed = inputs.map((i) => (i.isDir || i.mediaType ? i : { ...i, ...(declaredCompatType(i.path) ? { mediaType: declaredCompatType(i.path) } : {}) }));
  const declared = new Set(typed.filter((i, k) => i.mediaType && !inputs[k]!.mediaType).map((i) => i.mediaType!));
  const artifactType = opts.artifactType ?? (declared.size === 1 && typed.every((i) => i.mediaType) ? [...declared][0]!.replace(/\+json$/, '') : undefined);
  return { inputs: typed, ...(artifactType ? { artifactType } : {}) };
}

function refuseArtifactType(input: Input, opts: PushOptions): void {
  if (opts.artifactType) throw new SpecError(input.arg, `is a compat spec, whose artifact type is ${MEDIA_TYPES.artifact}: drop --artifact-type`);
}

interface Pushed {
  descriptor: Descriptor;
  manifest: Manifest;
  kind: ArtifactKind;
}

async function pushInputs(located: Located, reference: string | undefined, given: Input[], ann: Annotations, givenOpts: PushOptions, subject?: Descriptor): Promise<Pushed> {
  const typed = withDeclaredTypes(given, givenOpts);
  const inputs = typed.inputs;
  const opts = { ...givenOpts, ...(typed.artifactType ? { artifactType: typed.artifactType } : {}) };
  const lone = inputs.length === 1 && !inputs[0]!.isDir && !inputs[0]!.mediaType ? inputs[0] : undefined;
  if (lone) {
    // An ELF with --artifact-type is pushed as the file it is; without, it is described.
    const spec = probeFile(lone.path).kind === 'elf' ? (opts.artifactType ? undefined : (await import('./gen.js')).generateSpec([lone.path])) : asSpec(lone.path);
    if (spec) refuseArtifactType(lone, opts);
    if (spec === 'legacy') return pushLegacy(located.target, reference, lone, ann, opts, subject);
    if (spec) return pushSpec(located.target, reference, spec, lone, ann, opts, subject);
  }
  const specs = inputs.filter((i) => !i.isDir && !i.mediaType && asSpec(i.path) !== undefined);
  if (specs.length > 1) throw new SpecError(specs[1]!.arg, `a second compat spec beside ${specs[0]!.arg}: push one spec per artifact`);
  const spec = specs[0];
  if (spec) refuseArtifactType(spec, opts);
  else if (subject && !opts.artifactType) throw new SpecError(inputs[0]!.arg, 'not a compat spec: name the artifact type of what you attach with --artifact-type');
  const { pushFiles: pushFileLayers } = await registry();
  const manifestAnnotations = spec ? { ...specAnnotations(parseSpec(readInputFile(spec.path).toString('utf8'), spec.path), new Date().toISOString()), ...ann.manifest } : ann.manifest;
  const files = inputs.map((i) => ({ path: i.path, title: i.title, ...(i === spec ? { mediaType: MEDIA_TYPES.spec } : i.mediaType ? { mediaType: i.mediaType } : {}), annotations: ann.layers[i.title] ?? {} }));
  // The pid in the name lets `compat store verify --repair` tell a push in flight from one killed.
  const pushed = await pushFileLayers(located.target, reference, files, {
    artifactType: spec ? MEDIA_TYPES.artifact : opts.artifactType,
    annotations: manifestAnnotations,
    ...(subject ? { subject } : {}),
    workPrefix: `${PUSH_TEMP_PREFIX}${process.pid}-`,
    onProgress: opts.onProgress,
    onEvent: opts.onEvent,
  });
  return { descriptor: pushed.descriptor, manifest: pushed.manifest, kind: spec ? 'compat' : 'other' };
}

async function pushSpec(target: Target, reference: string | undefined, spec: CompatSpec, input: Input, ann: Annotations, opts: PushOptions, subject?: Descriptor): Promise<Pushed> {
  const { pushBlobs, pushManifestBytes } = await registry();
  const packed = packSpec(spec, { ...(subject ? { subject } : {}), annotations: ann.manifest, layerAnnotations: ann.layers[input.title] });
  await pushBlobs(target, packed.blobs, opts);
  await pushManifestBytes(target, reference, packed.descriptor, packed.manifestBytes);
  return { descriptor: packed.descriptor, manifest: packed.manifest, kind: 'compat' };
}

/** The seed's format goes up as it is (older tools read it), in a compat artifact. */
async function pushLegacy(target: Target, reference: string | undefined, input: Input, ann: Annotations, opts: PushOptions, subject?: Descriptor): Promise<Pushed> {
  const { buildManifest, EMPTY_DESCRIPTOR, EMPTY_JSON, pushBlobs, pushManifestBytes } = await registry();
  const bytes = readInputFile(input.path);
  parseSpec(bytes.toString('utf8'), input.path);
  const layer = describeBytes(MEDIA_TYPES.spec, bytes, { annotations: { ...ann.layers[input.title], [TITLE]: basename(input.path) } });
  const { bytes: mbytes, descriptor, manifest } = buildManifest({
    artifactType: MEDIA_TYPES.artifact,
    layers: [layer],
    ...(subject ? { subject } : {}),
    annotations: { [CREATED]: new Date().toISOString(), [TITLE]: basename(input.path), ...ann.manifest },
  });
  await pushBlobs(target, [{ descriptor: { ...EMPTY_DESCRIPTOR }, content: EMPTY_JSON }, { descriptor: layer, content: bytes }], opts);
  await pushManifestBytes(target, reference, descriptor, mbytes);
  return { descriptor, manifest, kind: 'compat' };
}
