import { RegistryClient, type ClientOptions } from './auth.js';
import { removeCredential, saveCredential, type Credential, type CredentialOptions, type SavedCredential } from './credentials.js';
import { RegistryError } from './errors.js';
import { parseReference } from './reference.js';

export type LoginOptions = Omit<ClientOptions, 'credentials'> & CredentialOptions;

/** Normalises what users type for a registry (`host[:port]`, maybe with a scheme) to the host. */
export function registryHost(input: string): { registry: string; apiHost: string } {
  const bare = input.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!bare) throw new RegistryError('INVALID_REFERENCE', `invalid registry ${JSON.stringify(input)}`);
  const ref = parseReference(`${bare}/x`);
  if (ref.registry !== bare && !(ref.registry === 'docker.io' && /docker\.io$/.test(bare))) {
    throw new RegistryError('INVALID_REFERENCE', `invalid registry ${JSON.stringify(input)}: expected host[:port]`);
  }
  return { registry: ref.registry, apiHost: ref.apiHost };
}

/**
 * Checks a credential against the registry (GET /v2/ through its auth challenge) and stores it
 * only when accepted: in the OS keychain when there is one, else in the auth file (0600).
 */
export async function login(registry: string, credential: Credential, opts: LoginOptions = {}): Promise<SavedCredential> {
  const { registry: name, apiHost } = registryHost(registry);
  const client = new RegistryClient(apiHost, { ...opts, credentials: credential });
  await client.ping();
  return saveCredential(name, credential, opts);
}

/** Forgets a registry's stored credential; false when none was stored. */
export async function logout(registry: string, opts: CredentialOptions = {}): Promise<boolean> {
  const { registry: name } = registryHost(registry);
  return removeCredential(name, opts);
}
