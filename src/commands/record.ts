import * as Flags from '@oclif/core/flags';
import { BaseCommand } from '../cli/base.js';

export default class Record extends BaseCommand {
  static summary = 'Run a command and record what the loader loads (and, with --events files|all, the files it opens), in it and every process it starts.';
  static description = 'The command\'s exit code, stdout and stderr pass through unchanged. The log is JSON lines: a header, then one event per line (see README: Recording runs).';
  static examples = ['<%= config.bin %> record -- python3 -c "import ssl"', '<%= config.bin %> record --events all --out run.jsonl -- ./app', '<%= config.bin %> record --out-dir logs -- mpirun -n 4 ./app'];
  static strict = false;
  static flags = {
    out: Flags.string({ char: 'o', description: 'Write one log, all processes in time order (default: compat-trace.<cmd>[.rank<N>].<pid>.jsonl here).', exclusive: ['out-dir'] }),
    'out-dir': Flags.string({ description: 'Write one log per process into this directory: <cmd>[.rank<N>].<pid>.jsonl.' }),
    events: Flags.string({ description: 'What to record: libs (loader searches and objects, via LD_AUDIT), files (opens, lookups, closes, via LD_PRELOAD), all.', options: ['libs', 'files', 'all'], default: 'libs' }),
    backend: Flags.string({ description: 'audit (the native module) or strace (strace -f: sees static and setuid programs too, at strace\'s cost).', options: ['audit', 'strace'], default: 'audit' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Record);
    const command = argv as string[];
    if (command.length === 0) this.error('give the command to record after --, e.g. compat record -- ./app', { exit: 2 });
    const { recordAction } = await import('../cli/trace-actions.js');
    const code = await recordAction(command, { out: flags.out, outDir: flags['out-dir'], events: flags.events as 'libs', backend: flags.backend as 'audit' });
    return this.exit(code);
  }
}
