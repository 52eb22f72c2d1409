#!/usr/bin/env node
// check, gen and deps on local files start without oclif (see src/cli/fast.ts); all else goes to
// oclif. COMPAT_NO_FASTPATH=1 sends everything through oclif.
const { runFast } = await import('../dist/cli/fast.js');
const code = process.env.COMPAT_NO_FASTPATH ? undefined : await runFast(process.argv.slice(2));
if (code === undefined) {
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
} else process.exitCode = code;
