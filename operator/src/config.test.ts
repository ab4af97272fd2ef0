import { describe, expect, it } from 'vitest';
import { loadOperatorConfig } from './config.ts';

describe('LSO_NODE_ADDRESS', () => {
  it('takes an IP address (v4, v6, bracketed v6) or a DNS name; absent when unset or empty', () => {
    for (const address of ['192.0.2.10', 'fd00::a', '[fd00::a]', 'node-1.media.example.com']) {
      expect(loadOperatorConfig({ LSO_NODE_ADDRESS: address }).nodeAddress).toBe(address);
    }
    expect(loadOperatorConfig({}).nodeAddress).toBeUndefined();
    expect(loadOperatorConfig({ LSO_NODE_ADDRESS: '' }).nodeAddress).toBeUndefined();
  });

  it.each(['http://192.0.2.10', '192.0.2.10:30000', 'node_1', 'a/b'])('refuses %s', (address) => {
    expect(() => loadOperatorConfig({ LSO_NODE_ADDRESS: address })).toThrow(/LSO_NODE_ADDRESS/);
  });
});
