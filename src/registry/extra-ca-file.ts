/**
 * The NODE_EXTRA_CA_CERTS file the `compat` launcher kept node from loading at start-up (see
 * bin/compat and trust.ts). Only a note of it: this module imports nothing, so that taking it costs
 * start-up nothing (trust.ts pulls in node's TLS and HTTPS modules, about 5–8 ms).
 */
export interface DeferredCaFile {
  file: string;
  warn: (message: string) => void;
}

let deferred: DeferredCaFile | undefined;

export function deferExtraCaCerts(file: string, warn: (message: string) => void): void {
  deferred = { file, warn };
}

export function deferredExtraCaCerts(): DeferredCaFile | undefined {
  return deferred;
}
