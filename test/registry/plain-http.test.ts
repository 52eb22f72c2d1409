import { describe, expect, it } from '@jest/globals';
import { plainHttpFor } from '../../src/registry/index.js';

/** ORAS's rule: only the name localhost defaults to plain HTTP; an explicit choice or TLS material wins. */
describe('plainHttpFor', () => {
  it.each([
    ['localhost', {}, true],
    ['localhost:5000', {}, true],
    ['LOCALHOST:5000', {}, true],
    ['127.0.0.1:5000', {}, false],
    ['[::1]:5000', {}, false],
    ['localhost.example.org:5000', {}, false],
    ['registry.example.org', {}, false],
    ['localhost:5000', { plainHttp: false }, false],
    ['localhost:5000', { caFile: '/ca.pem' }, false],
    ['localhost:5000', { certFile: '/c.pem' }, false],
    ['registry.example.org', { plainHttp: true }, true],
    ['localhost:5000', { plainHttp: true, caFile: '/ca.pem' }, true],
  ] as const)('%s %j → %s', (host, o, expected) => {
    expect(plainHttpFor(host, o)).toBe(expected);
  });
});
