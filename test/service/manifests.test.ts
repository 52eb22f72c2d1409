// The deployment files parse, and carry what a kubelet (or systemd) needs to run the daemon.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../helpers/fixtures.js';

const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const K8S = join(ROOT, 'manifests', 'kubernetes');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

function k8sDocs(): Doc[] {
  const docs: Doc[] = [];
  for (const f of readdirSync(K8S).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(K8S, f), 'utf8'))) {
      expect({ file: f, errors: d.errors.map((e) => e.message) }).toEqual({ file: f, errors: [] });
      const js = d.toJS() as Doc | null;
      if (js) docs.push(js);
    }
  }
  return docs;
}

const docs = k8sDocs();
const ds = docs.find((d) => d.kind === 'DaemonSet')!;
const svc = docs.find((d) => d.kind === 'Service')!;

describe('manifests/kubernetes', () => {
  it('has one DaemonSet and one Service, each with apiVersion, kind and a DNS-1123 name', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`).sort()).toEqual(['apps/v1 DaemonSet', 'v1 Service']);
    for (const d of docs) expect(d.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('the DaemonSet selector matches its pod template labels', () => {
    const labels = ds.spec.template.metadata.labels as Record<string, string>;
    expect(Object.keys(ds.spec.selector.matchLabels).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels as Record<string, string>)) expect(labels[k]).toBe(v);
  });

  it('runs `compat serve` listening on the container port, on every node', () => {
    const spec = ds.spec.template.spec;
    expect(spec.containers).toHaveLength(1);
    const c = spec.containers[0];
    expect(typeof c.image).toBe('string');
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    expect(argv.join(' ')).toMatch(/(compat|\/bin\/run\.js) serve\b/);
    const address = argv[argv.indexOf('--address') + 1]!;
    const port = Number(address.split(':').pop());
    expect(address.startsWith('0.0.0.0:')).toBe(true); // the kubelet probes the pod IP
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'grpc', containerPort: port, protocol: 'TCP' }));
    expect(spec.tolerations).toContainEqual({ operator: 'Exists' });
    // Drains within the pod's grace period.
    const grace = Number(argv[argv.indexOf('--grace') + 1] ?? 5);
    expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
  });

  it("mounts the node's / read-only at /host and indexes it as the root (--root /host)", () => {
    const spec = ds.spec.template.spec;
    const c = spec.containers[0];
    const volumes = new Map<string, Doc>((spec.volumes as Doc[]).map((v) => [v.name, v]));
    const mounts = new Map<string, Doc>((c.volumeMounts as Doc[]).map((m) => [m.mountPath, m]));
    const host = mounts.get('/host');
    expect(host?.readOnly).toBe(true);
    expect(volumes.get(host!.name)!.hostPath).toEqual({ path: '/', type: 'Directory' });
    const argv: string[] = [...(c.command ?? []), ...(c.args ?? [])];
    expect(argv[argv.indexOf('--root') + 1]).toBe('/host');
    // The node's libraries are not laid over the container's own: node runs on the image's libc.
    for (const path of ['/etc/ld.so.cache', '/lib', '/lib64', '/usr/lib', '/usr/lib64']) expect(mounts.has(path)).toBe(false);
    expect(argv).not.toContain('--ld-so-cache');
    // Every hostPath volume is mounted, and read-only.
    for (const v of volumes.values()) {
      if (!v.hostPath) continue;
      const m = (c.volumeMounts as Doc[]).find((x) => x.name === v.name);
      expect({ volume: v.name, readOnly: m?.readOnly }).toEqual({ volume: v.name, readOnly: true });
    }
    // The only writable places: the index cache and the artifact store, where XDG_* point.
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    for (const name of ['XDG_CACHE_HOME', 'XDG_DATA_HOME']) {
      const path = (c.env as Doc[]).find((e) => e.name === name)?.value;
      const m = mounts.get(path);
      expect({ name, path, writable: m?.readOnly !== true }).toEqual({ name, path, writable: true });
      expect(volumes.get(m!.name)!.emptyDir).toBeDefined();
    }
  });

  it('readiness and liveness go through the gRPC health service on the serving port', () => {
    const c = ds.spec.template.spec.containers[0];
    const port = c.ports[0].containerPort;
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect({ probe, grpc: c[probe]?.grpc }).toEqual({ probe, grpc: { port } });
      expect(c[probe].periodSeconds).toBeGreaterThan(0);
    }
  });

  it('requests resources (and bounds memory)', () => {
    const r = ds.spec.template.spec.containers[0].resources;
    expect(r.requests.cpu).toMatch(/^\d+m?$/);
    expect(r.requests.memory).toMatch(/^\d+(Mi|Gi)$/);
    expect(r.limits.memory).toMatch(/^\d+(Mi|Gi)$/);
  });

  it('the Service selects the DaemonSet pods and exposes the gRPC port', () => {
    const labels = ds.spec.template.metadata.labels as Record<string, string>;
    expect(Object.keys(svc.spec.selector).length).toBeGreaterThan(0);
    for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(labels[k]).toBe(v);
    const c = ds.spec.template.spec.containers[0];
    const p = svc.spec.ports[0];
    expect(p.port).toBe(c.ports[0].containerPort);
    expect([c.ports[0].name, c.ports[0].containerPort]).toContain(p.targetPort);
    expect(p.appProtocol).toBe('grpc');
    expect(svc.spec.internalTrafficPolicy).toBe('Local');
  });
});

describe('manifests/systemd/compat.service', () => {
  const unitPath = join(ROOT, 'manifests', 'systemd', 'compat.service');
  const text = readFileSync(unitPath, 'utf8');
  const keys = new Map<string, string>();
  let section = '';
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const sec = /^\[(\w+)\]$/.exec(l);
    if (sec) section = sec[1]!;
    else {
      const i = l.indexOf('=');
      keys.set(`${section}.${l.slice(0, i)}`, l.slice(i + 1));
    }
  }

  it('runs compat serve, stops it with SIGTERM after the drain, restarts it on failure', () => {
    expect(keys.get('Service.ExecStart')).toMatch(/^\/\S*compat serve\b/);
    expect(keys.get('Service.KillSignal')).toBe('SIGTERM');
    const grace = Number(/--grace (\d+)/.exec(keys.get('Service.ExecStart')!)?.[1] ?? 5);
    expect(Number(keys.get('Service.TimeoutStopSec'))).toBeGreaterThan(grace);
    expect(keys.get('Service.Restart')).toBe('on-failure');
    expect(keys.get('Service.Environment')).toBe('XDG_CACHE_HOME=/var/cache/compat XDG_DATA_HOME=/var/lib/compat');
    expect(keys.get('Service.CacheDirectory')).toBe('compat');
    expect(keys.get('Service.StateDirectory')).toBe('compat');
    expect(keys.get('Install.WantedBy')).toBe('multi-user.target');
  });

  it('passes systemd-analyze verify', () => {
    // scripts/setup.sh installs systemd (the package that has systemd-analyze; not made PID 1).
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    if (!analyze) throw new Error('systemd-analyze not found: run scripts/setup.sh (it installs the systemd package)');
    // verify insists that ExecStart's binary exists: point it at one that does.
    const dir = tempDir('compat-unit-');
    const copy = join(dir, 'compat.service');
    writeFileSync(copy, text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
    const r = spawnSync(analyze, ['verify', copy], { encoding: 'utf8', timeout: 30000 });
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: '' });
  });
});
