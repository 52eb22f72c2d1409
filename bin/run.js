#!/usr/bin/env node
// check, gen and deps on local files start without oclif (see src/cli/fast.ts); all else goes to
// oclif. COMPAT_NO_FASTPATH=1 sends everything through oclif.
const deferredCa = process.env.COMPAT_DEFERRED_CA_CERTS;
if (deferredCa !== undefined) {
  // bin/compat kept node from loading NODE_EXTRA_CA_CERTS at start-up; it is read when needed.
  process.env.NODE_EXTRA_CA_CERTS = deferredCa;
  delete process.env.COMPAT_DEFERRED_CA_CERTS;
  const [{ deferExtraCaCerts }, { warn }] = await Promise.all([import('../dist/registry/extra-ca-file.js'), import('../dist/cli/errors.js')]);
  deferExtraCaCerts(deferredCa, warn);
}
const { runFast } = await import('../dist/cli/fast.js');
const code = process.env.COMPAT_NO_FASTPATH ? undefined : await runFast(process.argv.slice(2));
if (code === undefined) {
  const { execute } = await import('@oclif/core/execute');
  await execute({ dir: import.meta.url });
} else process.exitCode = code;
