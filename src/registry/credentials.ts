import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RegistryError } from './errors.js';

/** What a registry may accept: user and password, an OAuth2 refresh token, or a ready token. */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker's `identitytoken`), exchanged at the token endpoint. */
  identityToken?: string;
  /** A bearer token sent as is (docker's `registrytoken`). */
  registryToken?: string;
}

export type CredentialSource = 'explicit' | 'keychain' | 'auth-file' | 'docker' | 'podman';

/** Looks a credential up for a registry host (and, for scoped entries, a repository). */
export type CredentialProvider = (host: string, repository?: string) => Promise<Credential | undefined>;

export interface CredentialOptions {
  /** Credentials given on the command line or in the environment, by host; tried first. */
  explicit?: Record<string, Credential>;
  /** Keychain service name; false disables the OS keychain (default `oci-registry`). */
  keychainService?: string | false;
  /** The library's own docker-style file (default `$XDG_CONFIG_HOME/<appName>/auth.json`). */
  authFile?: string;
  /** Names the default auth file's folder (default `oci-registry`). */
  appName?: string;
  /** Docker's config.json; false to skip (default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`). */
  dockerConfig?: string | false;
  /** Podman/skopeo auth files; false to skip (default `$REGISTRY_AUTH_FILE`, runtime dir, `~/.config`). */
  podmanAuthFiles?: string[] | false;
  env?: NodeJS.ProcessEnv;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function defaultAuthFile(appName = 'oci-registry', env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, appName, 'auth.json');
}

function dockerConfigPath(opts: CredentialOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (opts.dockerConfig === false) return undefined;
  if (opts.dockerConfig) return opts.dockerConfig;
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

function podmanPaths(opts: CredentialOptions, env: NodeJS.ProcessEnv): string[] {
  if (opts.podmanAuthFiles === false) return [];
  if (opts.podmanAuthFiles) return opts.podmanAuthFiles;
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'containers', 'auth.json'));
  return paths;
}

/** Keys a config file may use for `host`: bare, with scheme, Docker Hub's v1 URL. */
function hostKeys(host: string): string[] {
  if (DOCKER_HUB_HOSTS.has(host)) return [DOCKER_HUB_KEY, 'docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1'];
  return [host, `https://${host}`, `http://${host}`, `https://${host}/`, `http://${host}/`, `https://${host}/v1/`, `https://${host}/v2/`];
}

/** The key a credential helper is asked about (docker asks for Hub's v1 URL). */
function helperServerUrl(host: string): string {
  return DOCKER_HUB_HOSTS.has(host) ? DOCKER_HUB_KEY : host;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}
interface AuthConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

async function readJsonFile(path: string): Promise<AuthConfigFile | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as AuthConfigFile) : undefined;
  } catch {
    // Say which file, never what it holds: it is full of secrets.
    throw new RegistryError('CREDENTIALS', `${path}: not valid JSON`);
  }
}

function entryToCredential(e: AuthEntry | undefined): Credential | undefined {
  if (!e) return undefined;
  const c: Credential = {};
  if (e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) {
      c.username = decoded.slice(0, i);
      c.password = decoded.slice(i + 1);
    }
  }
  if (e.username) c.username = e.username;
  if (e.password) c.password = e.password;
  if (e.identitytoken) c.identityToken = e.identitytoken;
  if (e.registrytoken) c.registryToken = e.registrytoken;
  return c.username || c.identityToken || c.registryToken ? c : undefined;
}

/** Finds an `auths` entry for host, preferring the longest `host/namespace` key that matches. */
function findEntry(auths: Record<string, AuthEntry> | undefined, host: string, repository?: string): AuthEntry | undefined {
  if (!auths) return undefined;
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) {
      const key = `${host}/${parts.slice(0, n).join('/')}`;
      if (auths[key]) return auths[key];
    }
  }
  for (const key of hostKeys(host)) if (auths[key]) return auths[key];
  return undefined;
}

/** Runs `docker-credential-<helper> get` (the docker credential-helper protocol). */
export async function credentialFromHelper(helper: string, host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  if (!/^[\w.-]+$/.test(helper)) throw new RegistryError('CREDENTIALS', `invalid credential helper name ${JSON.stringify(helper)}`);
  const program = `docker-credential-${helper}`;
  const out = await new Promise<{ code: number | null; stdout: string; error?: string }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], env });
    // Own timer, unref'd: spawn's `timeout` keeps the process alive when the program is missing.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    timer.unref();
    child.once('close', () => clearTimeout(timer));
    child.once('error', () => clearTimeout(timer));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: '', error: e.code ?? 'error' }));
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(helperServerUrl(host));
  });
  if (out.error) throw new RegistryError('CREDENTIALS', `credential helper ${program} cannot run (${out.error})`);
  if (out.code !== 0) return undefined; // "credentials not found" is a non-zero exit
  try {
    const v = JSON.parse(out.stdout) as { Username?: string; Secret?: string };
    if (!v.Secret) return undefined;
    // The protocol marks an identity (refresh) token by the user name "<token>".
    return v.Username === '<token>' ? { identityToken: v.Secret } : { username: v.Username ?? '', password: v.Secret };
  } catch {
    throw new RegistryError('CREDENTIALS', `credential helper ${program} gave an unreadable answer`);
  }
}

/** docker config.json / podman auth.json: credHelpers, then credsStore, then inline auths. */
export async function credentialFromConfigFile(path: string, host: string, repository?: string, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  const cfg = await readJsonFile(path);
  if (!cfg) return undefined;
  const helper = hostKeys(host).map((k) => cfg.credHelpers?.[k]).find((h) => h);
  if (helper) return credentialFromHelper(helper, host, env);
  const inline = entryToCredential(findEntry(cfg.auths, host, repository));
  if (inline) return inline;
  if (cfg.credsStore) return credentialFromHelper(cfg.credsStore, host, env);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// OS keychain through @napi-rs/keyring, pinned to the Secret Service on Linux: its fallback, the
// kernel keyring, is denied in containers and lost on reboot. Any failure means "no keychain".

type KeyringModule = typeof import('@napi-rs/keyring');
let keyringModule: Promise<KeyringModule | undefined> | undefined;

function keychainPossible(env: NodeJS.ProcessEnv): boolean {
  return process.platform !== 'linux' || Boolean(env.DBUS_SESSION_BUS_ADDRESS);
}

async function loadKeyring(env: NodeJS.ProcessEnv): Promise<KeyringModule | undefined> {
  if (!keychainPossible(env)) return undefined;
  keyringModule ??= import('@napi-rs/keyring').then(
    (m) => m,
    () => undefined,
  );
  return keyringModule;
}

async function keychainEntry(service: string, host: string, env: NodeJS.ProcessEnv) {
  const k = await loadKeyring(env);
  if (!k) return undefined;
  try {
    return new k.AsyncEntry(service, host, { linux: { store: 'secret-service' } });
  } catch {
    return undefined;
  }
}

export async function credentialFromKeychain(service: string, host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  const entry = await keychainEntry(service, host, env);
  if (!entry) return undefined;
  try {
    const raw = await entry.getPassword();
    if (!raw) return undefined;
    const v = JSON.parse(raw) as Credential;
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Saves to the keychain and reads it back; false when there is no usable keychain. */
async function saveToKeychain(service: string, host: string, cred: Credential, env: NodeJS.ProcessEnv): Promise<boolean> {
  const entry = await keychainEntry(service, host, env);
  if (!entry) return false;
  try {
    const text = JSON.stringify(cred);
    await entry.setPassword(text);
    return (await entry.getPassword()) === text;
  } catch {
    return false;
  }
}

async function removeFromKeychain(service: string, host: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const entry = await keychainEntry(service, host, env);
  if (!entry) return false;
  try {
    return await entry.deletePassword();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

/** The lookup chain: explicit → keychain → own auth file → docker config → podman auth files. */
export function credentialChain(opts: CredentialOptions = {}): CredentialProvider {
  const env = opts.env ?? process.env;
  return async (host, repository) => {
    const found = await findCredential(host, repository, opts, env);
    return found?.credential;
  };
}

/** Like the chain, and says where the credential came from (for `login`-style status output). */
export async function findCredential(
  host: string,
  repository: string | undefined,
  opts: CredentialOptions = {},
  env: NodeJS.ProcessEnv = opts.env ?? process.env,
): Promise<{ credential: Credential; source: CredentialSource; path?: string } | undefined> {
  const explicit = opts.explicit && explicitFor(opts.explicit, host);
  if (explicit) return { credential: explicit, source: 'explicit' };
  if (opts.keychainService !== false) {
    const c = await credentialFromKeychain(opts.keychainService ?? 'oci-registry', host, env);
    if (c) return { credential: c, source: 'keychain' };
  }
  const own = opts.authFile ?? defaultAuthFile(opts.appName, env);
  const fromOwn = await credentialFromConfigFile(own, host, repository, env);
  if (fromOwn) return { credential: fromOwn, source: 'auth-file', path: own };
  const docker = dockerConfigPath(opts, env);
  if (docker) {
    const c = await credentialFromConfigFile(docker, host, repository, env);
    if (c) return { credential: c, source: 'docker', path: docker };
  }
  for (const p of podmanPaths(opts, env)) {
    const c = await credentialFromConfigFile(p, host, repository, env);
    if (c) return { credential: c, source: 'podman', path: p };
  }
  return undefined;
}

/** An explicit credential given for this host (host names compare without case). */
function explicitFor(explicit: Record<string, Credential>, host: string): Credential | undefined {
  const keys = new Set(hostKeys(host.toLowerCase()));
  return Object.entries(explicit).find(([k]) => keys.has(k.toLowerCase()))?.[1];
}

export interface SavedCredential {
  where: 'keychain' | 'file';
  /** The file written, when `where` is `file`. */
  path?: string;
}

/**
 * Stores a credential: in the OS keychain when one answers, else in the library's own
 * docker-style auth file (mode 0600, written atomically). Does not verify it: see `login`.
 */
export async function saveCredential(host: string, cred: Credential, opts: CredentialOptions = {}): Promise<SavedCredential> {
  const env = opts.env ?? process.env;
  if (opts.keychainService !== false && (await saveToKeychain(opts.keychainService ?? 'oci-registry', host, cred, env))) {
    // A stale file entry would shadow nothing (keychain comes first) but would keep a secret around.
    await removeFromFile(opts.authFile ?? defaultAuthFile(opts.appName, env), host);
    return { where: 'keychain' };
  }
  const path = opts.authFile ?? defaultAuthFile(opts.appName, env);
  const cfg = (await readJsonFile(path)) ?? {};
  cfg.auths ??= {};
  const entry: AuthEntry = {};
  if (cred.username !== undefined) entry.auth = Buffer.from(`${cred.username}:${cred.password ?? ''}`).toString('base64');
  if (cred.identityToken) entry.identitytoken = cred.identityToken;
  if (cred.registryToken) entry.registrytoken = cred.registryToken;
  cfg.auths[host] = entry;
  await writePrivateFile(path, JSON.stringify(cfg, null, 2) + '\n');
  return { where: 'file', path };
}

/** Forgets a host's credential in the keychain and the own auth file; true if anything was removed. */
export async function removeCredential(host: string, opts: CredentialOptions = {}): Promise<boolean> {
  const env = opts.env ?? process.env;
  const k = opts.keychainService !== false && (await removeFromKeychain(opts.keychainService ?? 'oci-registry', host, env));
  const f = await removeFromFile(opts.authFile ?? defaultAuthFile(opts.appName, env), host);
  return k || f;
}

async function removeFromFile(path: string, host: string): Promise<boolean> {
  const cfg = await readJsonFile(path);
  if (!cfg?.auths) return false;
  let removed = false;
  for (const key of hostKeys(host)) {
    if (key in cfg.auths) {
      delete cfg.auths[key];
      removed = true;
    }
  }
  if (removed) await writePrivateFile(path, JSON.stringify(cfg, null, 2) + '\n');
  return removed;
}

/** Writes a secret-bearing file: created 0600 before any byte lands, renamed into place. */
async function writePrivateFile(path: string, text: string): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await fs.open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new RegistryError('CREDENTIALS', `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
