import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags } from '../cli/registry-flags.js';

export default class Login extends BaseCommand {
  static summary = 'Log in to a registry: the credential is verified against it before it is stored (OS keychain, else a 0600 file).';
  static examples = ['printf %s "$TOKEN" | <%= config.bin %> login registry.example.org -u robot --password-stdin'];
  static args = { registry: Args.string({ required: true, description: 'HOST[:PORT].' }) };
  static flags = {
    username: Flags.string({ char: 'u', required: true, description: 'User name.' }),
    'password-stdin': Flags.boolean({ description: 'Read the password from standard input.' }),
    password: Flags.string({ char: 'p', description: 'Password (visible to other users of this machine: prefer --password-stdin).', env: 'COMPAT_PASSWORD' }),
    'plain-http': Flags.boolean({ description: 'Talk HTTP, not HTTPS.' }),
    insecure: Flags.boolean({ description: 'Skip TLS certificate verification.' }),
    'ca-file': Flags.string({ description: 'Trust this CA certificate (PEM).' }),
    timeout: registryFlags.timeout,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login);
    let password = flags.password;
    if (flags['password-stdin']) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    }
    if (!password) this.error('give the password with --password-stdin (or COMPAT_PASSWORD)', { exit: 2 });
    const { login } = await import('../registry/index.js');
    const saved = await login(args.registry, { username: flags.username, password }, { appName: 'compat', keychainService: 'compat', plainHttp: flags['plain-http'], insecure: flags.insecure, caFile: flags['ca-file'], ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout * 1000 } : {}), loginHint: (h: string) => `check the user name and password for ${h}` });
    await this.out(`Login Succeeded (${saved.where === 'keychain' ? 'stored in the OS keychain' : `stored in ${saved.path}`})\n`);
  }
}
