import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The checked-in wire contract. `../../manifests/compat.proto` is the same file from
 * src/service/proto.ts (ts-jest) and from dist/service/proto.js (the built CLI).
 */
export const PROTO_PATH = fileURLToPath(new URL('../../manifests/compat.proto', import.meta.url));

export const PACKAGE = 'convergedcomputing.org.grpc.v1';
export const SERVICE_NAME = `${PACKAGE}.CompatibilityService`;

export type ResultType = 'UNSPECIFIED' | 'SUCCESS' | 'ERROR' | 'DENIED';

export interface CompatRequest {
  payload?: string;
  uri?: string;
}

export interface CompatResponse {
  status: ResultType;
  compatible: boolean;
  payload: string;
}

/** Field names as in the .proto, enums as their names, absent fields as their defaults. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

let cached: grpc.ServiceDefinition | undefined;

/** The CompatibilityService definition, loaded once from the .proto. */
export function compatService(): grpc.ServiceDefinition {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    cached = def[SERVICE_NAME] as grpc.ServiceDefinition;
    if (!cached) throw new Error(`${PROTO_PATH}: no service ${SERVICE_NAME}`);
  }
  return cached;
}

/** A client constructor for the service (grpc-js generic client). */
export function compatClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(compatService() as grpc.ServiceDefinition, 'CompatibilityService');
}
