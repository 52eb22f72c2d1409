/** Where `login` takes the user name and password from, as docker and ORAS do. */
export interface CredentialFlags {
  username?: string;
  password?: string;
  'password-stdin'?: boolean;
}

/**
 * The credential to log in with: `-u`, then the password from `--password-stdin`, `-p` or
 * COMPAT_PASSWORD, and whatever is still missing asked on the terminal (the password unechoed).
 * `argv` tells `-p` (typed) from COMPAT_PASSWORD, which --password-stdin may override.
 */
export async function readCredential(flags: CredentialFlags, argv: string[]): Promise<{ username: string; password: string }> {
  if (flags['password-stdin']) {
    if (!flags.username) throw new Error('login: --password-stdin needs -u/--username USER (standard input holds the password, so the user name cannot be asked)');
    if (passwordTyped(argv)) throw new Error('login: give the password with --password-stdin or -p, not both');
    return { username: flags.username, password: await readStdin() };
  }
  if (flags.username && flags.password) return { username: flags.username, password: flags.password };
  if (!process.stdin.isTTY) throw new Error('login: no password: pipe it to --password-stdin (with -u USER), set COMPAT_PASSWORD, or run on a terminal to type it');
  const { read } = await import('read');
  const ask = (prompt: string, silent: boolean) => read({ prompt, silent, replace: '', output: process.stderr });
  const username = flags.username || (await ask('Username: ', false)).trim();
  if (!username) throw new Error('login: no user name given');
  const password = flags.password ?? (await ask('Password: ', true));
  if (!password) throw new Error('login: no password given');
  return { username, password };
}

/** `-p X`, `-pX`, `--password X` or `--password=X` on the command line (not COMPAT_PASSWORD). */
function passwordTyped(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--password' || a.startsWith('--password=') || /^-p/.test(a));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
