import * as Args from '@oclif/core/args';
import { BaseCommand } from '../cli/base.js';

export default class Logout extends BaseCommand {
  static summary = 'Forget the stored credential for a registry.';
  static args = { registry: Args.string({ required: true, description: 'HOST[:PORT].' }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Logout);
    const { logout } = await import('../registry/index.js');
    const removed = await logout(args.registry, { appName: 'compat', keychainService: 'compat' });
    await this.out(removed ? `Removed the credential for ${args.registry}\n` : `No credential stored for ${args.registry}\n`);
  }
}
