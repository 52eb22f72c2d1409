import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base.js';
import { parseDuration } from '../cli/duration.js';
import { registryFlags, toRegistryFlags } from '../cli/registry-flags.js';
import { repeatable } from '../cli/repeatable.js';

function seconds(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} ${raw}: expected a number of seconds ≥ 0`);
  return Math.round(n * 1000);
}

export default class Serve extends BaseCommand {
  static summary = 'Answer compatibility checks for this node over gRPC (CompatibilityService and grpc.health.v1.Health).';
  static description =
    'Holds the host index in memory, rebuilds it when /etc/ld.so.cache or an indexed directory changes, and caches verdicts. ' +
    'Prints "listening on ADDRESS" once SERVING; one log line per check on stderr. SIGTERM/SIGINT drain in-flight calls and exit 0.';
  static examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --address 0.0.0.0:50051 --quiet',
    '<%= config.bin %> serve --address unix:///run/compat/compat.sock',
    'COMPAT_PASSWORD=… <%= config.bin %> serve --registry registry.example.org -u robot --allow-registry ghcr.io',
  ];
  static flags = {
    address: Flags.string({ default: '127.0.0.1:50051', description: 'HOST:PORT to listen on (port 0 picks a free one), or unix:///path.sock.' }),
    path: repeatable({ description: 'Extra library directories the node provides (indexed with the rest).' }),
    'ld-so-cache': Flags.string({ description: "The loader cache to index (default /etc/ld.so.cache). In a container, the node's cache through a mounted /etc, so that ldconfig's rewrites are seen." }),
    root: Flags.string({ description: "The node's root file system as mounted here (in a container: the node's / at /host), indexed as if it were / (its ld.so.cache, its loader's directories; absolute links stay inside it)." }),
    'max-message-bytes': Flags.integer({ default: 4 * 1024 * 1024, min: 1024, description: 'Largest request accepted; larger ones are refused with RESOURCE_EXHAUSTED.' }),
    'cache-size': Flags.integer({ default: 10000, min: 0, description: 'Verdicts kept in memory, keyed by (spec digest, host index fingerprint).' }),
    'cache-bytes': Flags.integer({ default: 64 * 1024 * 1024, min: 0, description: 'Memory the cached verdicts may take (2 bytes a character of their reports); a larger verdict is not cached.' }),
    'poll-interval': Flags.string({ default: '5', description: 'Seconds between checks that the host index is still fresh (0: never rebuild).' }),
    grace: Flags.string({ default: '5', description: 'Seconds SIGTERM/SIGINT wait for in-flight calls before cutting them.' }),
    'idle-timeout': Flags.string({ default: '120', description: 'Seconds a connection with no call open stays open, handshake or not (0: forever).' }),
    'max-connections': Flags.integer({ default: 1024, min: 1, description: 'Connections open at once; more are closed as soon as they are accepted.' }),
    labels: repeatable({ description: 'Artifact references to keep NFD labels for: written before serving, rewritten when the host index changes.' }),
    'labels-file': Flags.string({ default: '/etc/kubernetes/node-feature-discovery/features.d/compat', description: 'The NFD feature file --labels writes.' }),
    'labels-expiry': Flags.string({ default: '10m', description: 'How long NFD keeps the labels if the daemon stops (# +expiry-time=); refreshed at half of it. 0: forever.' }),
    quiet: Flags.boolean({ char: 'q', description: 'No per-check log lines (index and lifecycle lines stay).' }),
    // How `uri` requests reach the registry: the same flags as `pull`.
    ...registryFlags,
    registry: Flags.string({ description: 'The registry HOST[:PORT] that -u/-p are for (required with -u); a uri may name it. No other host ever receives those credentials.', helpGroup: 'REGISTRY' }),
    'allow-registry': repeatable({
      description: 'A registry a uri may name: HOST[:PORT] or *.DOMAIN[:PORT] (repeatable). By default only --registry; a uri naming no host is always refused.',
      helpGroup: 'REGISTRY',
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    if (flags.username !== undefined && flags.registry === undefined) {
      throw new Error('-u/--username needs --registry HOST: the registry those credentials are for (COMPAT_USERNAME counts as -u)');
    }
    const pollMs = seconds('poll-interval', flags['poll-interval']);
    const graceMs = seconds('grace', flags.grace);
    const idleTimeoutMs = seconds('idle-timeout', flags['idle-timeout']);
    const labels = flags.labels?.length ? { refs: flags.labels, file: flags['labels-file'], expiryMs: parseDuration('labels-expiry', flags['labels-expiry']) } : undefined;
    const { runDaemon } = await import('../service/daemon.js');
    const { lineWriter } = await import('../service/log.js');
    const log = lineWriter(process.stderr);
    await runDaemon({
      address: flags.address,
      extraDirs: flags.path,
      cachePath: flags['ld-so-cache'],
      root: flags.root === undefined ? undefined : (await import('../cli/actions.js')).rootDir(flags.root),
      pollMs,
      graceMs,
      idleTimeoutMs,
      maxConnections: flags['max-connections'],
      labels,
      maxMessageBytes: flags['max-message-bytes'],
      cacheEntries: flags['cache-size'],
      cacheBytes: flags['cache-bytes'],
      registry: { ...toRegistryFlags(flags), credentialHost: flags.registry },
      allowRegistries: flags['allow-registry'],
      log,
      logChecks: !flags.quiet,
      onReady: (address) => {
        log.flush();
        process.stdout.write(`listening on ${address}\n`);
      },
    });
    log.flush();
    // Nothing should outlive the server; if something does (a lingering handle), do not hang the stop.
    setTimeout(() => process.exit(0), 1000).unref();
  }
}
