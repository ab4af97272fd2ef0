// The chart's gateway.whip values: by default nothing changes (no range, no hostPort, no announce, no ICE servers,
// maxSessions set); hostPort mode declares the range as UDP host ports and announces the node's address through the
// downward API; contradictions fail templating with the value names.
import { beforeAll, describe, expect, it } from 'vitest';
import { whipNetwork } from '../../gateway/src/config/settings.ts';
import { renderChart, tool, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

function gatewayContainer(objs: K8sObject[]) {
  const deployment = objs.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-gateway')) as any;
  const pod = deployment.spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom])) as Record<string, any>;
  return { pod, c, env, udp: c.ports.filter((p: any) => p.protocol === 'UDP') };
}

beforeAll(async () => {
  await tool('helm');
}, toolBuildTimeoutMs);

describe('gateway.whip', () => {
  it('changes nothing by default but setting maxSessions: pod addresses, ephemeral ports', async () => {
    const { env, udp, pod } = gatewayContainer(await renderChart({}));
    expect(env.LSO_GATEWAY_WHIP_MAX_SESSIONS).toBe('16');
    expect(Object.keys(env).filter((k) => /WHIP_(UDP|ANNOUNCE|ICE)|NODE_IP/.test(k))).toEqual([]);
    expect(udp).toEqual([]);
    expect(pod.volumes.map((v: any) => v.name)).not.toContain('ice-servers');
  });

  it("hostPort mode: the range as UDP host ports, the node's address announced first, settings the gateway accepts", async () => {
    const objs = await renderChart({
      gateway: {
        whip: {
          maxSessions: 4,
          udp: { firstPort: 40000, ports: 12, hostPort: true },
          announceAddresses: ['203.0.113.7'],
        },
      },
    });
    const { env, udp } = gatewayContainer(objs);
    expect(udp).toHaveLength(12);
    expect(udp[0]).toEqual({ name: 'whip-40000', containerPort: 40000, hostPort: 40000, protocol: 'UDP' });
    expect(udp.at(-1).containerPort).toBe(40011);
    expect(env.LSO_GATEWAY_NODE_IP).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    expect(env.LSO_GATEWAY_WHIP_UDP_PORTS).toBe('40000-40011');
    expect(env.LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES).toBe('$(LSO_GATEWAY_NODE_IP),203.0.113.7');
    // What the kubelet hands the gateway (the node's address expanded) passes the gateway's own check.
    const expanded = { ...env, LSO_GATEWAY_WHIP_ANNOUNCE_ADDRESSES: '192.0.2.10,203.0.113.7' };
    expect(whipNetwork(expanded, 4).udpPorts).toEqual([40000, 40011]);
  });

  it('mounts the ICE servers Secret and names the file, never its content, in env', async () => {
    const { env, c, pod } = gatewayContainer(
      await renderChart({ gateway: { whip: { iceServersSecret: { name: 'turn', key: 'servers.json' } } } }),
    );
    expect(env.LSO_GATEWAY_WHIP_ICE_SERVERS_FILE).toBe('/etc/livestream-gateway/ice/ice-servers.json');
    expect(c.volumeMounts).toContainEqual({
      name: 'ice-servers',
      mountPath: '/etc/livestream-gateway/ice',
      readOnly: true,
    });
    expect(pod.volumes.find((v: any) => v.name === 'ice-servers').secret).toEqual({
      secretName: 'turn',
      defaultMode: 0o440,
      items: [{ key: 'servers.json', path: 'ice-servers.json' }],
    });
  });

  it.each([
    [{ udp: { hostPort: true } }, 'gateway.whip.udp.hostPort needs gateway.whip.udp.firstPort'],
    [{ udp: { ports: 10 } }, 'gateway.whip.udp.ports needs gateway.whip.udp.firstPort'],
    [
      { maxSessions: 16, udp: { firstPort: 40000, ports: 10 } },
      'gateway.whip.udp.ports is 10; gateway.whip.maxSessions=16 needs 16',
    ],
    [
      { maxSessions: 8, udp: { firstPort: 40000, ports: 15, hostPort: true } },
      'gateway.whip.maxSessions=8 needs 16 (2 per session',
    ],
    [{ maxSessions: 1, udp: { firstPort: 65535, ports: 2 } }, 'goes past port 65535'],
  ])('fails templating on %o', async (whip, message) => {
    await expect(renderChart({ gateway: { whip } })).rejects.toThrow(message);
  });

  it('rejects values the schema does not know', async () => {
    await expect(renderChart({ gateway: { whip: { announceAddresses: ['node.example.com'] } } })).rejects.toThrow();
    await expect(renderChart({ gateway: { whip: { udp: { firstPort: 80 } } } })).rejects.toThrow();
  });
});
