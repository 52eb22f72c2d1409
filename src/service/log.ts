/**
 * A log that writes lines in batches: lines logged during one turn of the event loop go out in one
 * write (under load, one syscall per turn instead of one per check). Flushed on exit too.
 */
export function lineWriter(stream: NodeJS.WritableStream = process.stderr, maxBuffered = 64 * 1024): ((line: string) => void) & { flush: () => void } {
  let buf: string[] = [];
  let size = 0;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buf.length === 0) return;
    const text = buf.join('');
    buf = [];
    size = 0;
    stream.write(text);
  };
  process.once('exit', flush);
  const log = (line: string) => {
    buf.push(`${line}\n`);
    size += line.length + 1;
    if (size >= maxBuffered) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return Object.assign(log, { flush });
}
