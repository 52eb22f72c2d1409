import { str, type TraceEvent } from './events.js';
import type { Image } from './images.js';

/**
 * A path with what differs between builds of "the same" application removed, as the prototype
 * compared runs: so-versions (`libssl.so.3` → `libssl.so`), store and package hashes
 * (`/nix/store/<hash>-openssl-3.0/…`, Spack's `-<hash>` install prefixes, Guix's store), so two
 * builds of one stack align file for file.
 */
export function normalizePath(p: string): string {
  return p
    .replace(/\/(nix|gnu)\/store\/[0-9a-z]{32}-/g, '/$1/store/')
    .replace(/-[0-9a-z]{32}(?=\/|$)/g, '')
    .replace(/\.so(\.\d+)+(?=$|\/)/g, '.so')
    .replace(/\/{2,}/g, '/');
}

/** What a run touched, in order: objects mapped, files opened, names looked up (normalised). */
export function accessSequence(events: TraceEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.ev !== 'objopen' && e.ev !== 'open' && e.ev !== 'lookup') continue;
    const p = str(e, 'path');
    if (p && p.includes('/') && !p.endsWith('/libcompat.so')) out.push(normalizePath(p));
  }
  return out;
}

export function imageSequence(img: Image): string[] {
  return accessSequence(img.events);
}
