import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';
import { registryFlags } from '../cli/registry-flags.js';

export default class Login extends BaseCommand {
  static summary = 'Log in to a registry: the credential is verified against it before it is stored (OS keychain, else a 0600 file).';
  static examples = ['<%= config.bin %> login registry.example.org', 'printf %s "$TOKEN" | <%= config.bin %> login registry.example.org -u robot --password-stdin'];
  static args = { registry: Args.string({ required: true, description: 'HOST[:PORT].' }) };
  static flags = {
    username: Flags.string({ char: 'u', description: 'User name (asked on a terminal when not given).' }),
    'password-stdin': Flags.boolean({ description: 'Read the password from standard input (needs -u).' }),
    password: Flags.string({ char: 'p', description: 'Password (kept in shell history, visible to other users: prefer --password-stdin; asked unechoed on a terminal when not given).', env: 'COMPAT_PASSWORD' }),
    'plain-http': registryFlags['plain-http'],
    insecure: registryFlags.insecure,
    'ca-file': registryFlags['ca-file'],
    'cert-file': registryFlags['cert-file'],
    'key-file': registryFlags['key-file'],
    verbose: registryFlags.verbose,
    timeout: registryFlags.timeout,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Login);
    const { readCredential } = await import('../cli/credential-input.js');
    const { username, password } = await readCredential(flags, this.argv);
    const { httpLogger, login } = await import('../registry/index.js');
    const tls = { plainHttp: flags['plain-http'], insecure: flags.insecure, caFile: flags['ca-file'], certFile: flags['cert-file'], keyFile: flags['key-file'] };
    const saved = await login(args.registry, { username, password }, {
      appName: 'compat',
      keychainService: 'compat',
      ...tls,
      ...(flags.verbose ? { onHttp: httpLogger(process.stderr, 'compat: ') } : {}),
      ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout * 1000 } : {}),
      loginHint: (h: string) => `check the user name and password for ${h}`,
    });
    await this.out(`Login Succeeded (${saved.where === 'keychain' ? 'stored in the OS keychain' : `stored in ${saved.path}`})\n`);
  }
}
