import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'run.js');

/**
 * The built CLI on a pseudo-terminal (python3's `pty`): stdin, stdout and stderr are the terminal,
 * `columns` wide. Each step waits for `expect` in the output (30 s deadline) and then types `send`.
 * Returns everything the terminal showed and the exit status.
 */
const DRIVER = String.raw`
import json, os, pty, select, struct, sys, time, fcntl, termios
argv, env, steps, columns = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(argv[0], argv, env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, columns, 0, 0))
out = b''
def pump(deadline, until=None):
    global out
    while time.time() < deadline:
        if until is not None and until.encode() in out:
            return True
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return False
for expect, send in steps:
    if not pump(time.time() + 30, expect):
        break
    os.write(fd, send.encode())
pump(time.time() + 60)
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({'output': out.decode('utf-8', 'replace'), 'status': os.waitstatus_to_exitcode(status)}))
`;

export interface PtyResult {
  output: string;
  status: number;
}

export interface PtyOptions {
  env?: Record<string, string>;
  steps?: Array<[string, string]>;
  columns?: number;
  cwd?: string;
}

export function compatOnPty(args: string[], opts: PtyOptions = {}): Promise<PtyResult> {
  return nodeOnPty([BIN, ...args], opts);
}

/** Any node script on a pseudo-terminal (e.g. a test's driver of the built modules). */
export function nodeOnPty(args: string[], opts: PtyOptions = {}): Promise<PtyResult> {
  const env = { ...process.env, ...opts.env } as Record<string, string>;
  const spec = JSON.stringify([[process.execPath, ...args], env, opts.steps ?? [], opts.columns ?? 80]);
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', DRIVER, spec], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`pty driver failed (${code}): ${stderr}`));
      resolve(JSON.parse(stdout) as PtyResult);
    });
  });
}
