// The chart's gateway TLS (gateway.tls): off by default (no rtmps/https port, no mount, no Certificate), an existing
// kubernetes.io/tls Secret mounted where the gateway reads it, and a cert-manager Certificate whose Secret is the one
// mounted. (gateway-tls.int.test.ts dry-runs the Certificate against cert-manager's real CRD.)
import { beforeAll, describe, expect, it } from 'vitest';
import { gatewayDefaults, gatewayEnv, tlsMountPaths } from '../../gateway/src/config/settings.ts';
import { renderChart, tool, toolBuildTimeoutMs, type K8sObject } from './chart-tools.ts';

type Obj = K8sObject & { spec?: any };
const one = (objs: K8sObject[], kind: string, nameSuffix: string): Obj => {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) throw new Error(`expected one ${kind} *${nameSuffix}, found ${found.length}`);
  return found[0] as Obj;
};
const certificates = (objs: K8sObject[]) => objs.filter((o) => o.kind === 'Certificate');

function gatewayPod(objs: K8sObject[]) {
  const pod = one(objs, 'Deployment', '-gateway').spec.template.spec;
  const c = pod.containers[0];
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value])) as Record<string, string>;
  const ports = Object.fromEntries(c.ports.map((p: any) => [p.name, p.containerPort])) as Record<string, number>;
  const mount = c.volumeMounts.find((m: any) => m.name === 'tls');
  const volume = pod.volumes.find((v: any) => v.name === 'tls');
  return { env, ports, mount, volume };
}
const servicePorts = (objs: K8sObject[]) => one(objs, 'Service', '-gateway').spec.ports as { name: string }[];

export const certManagerValues = {
  enabled: true,
  issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
  dnsNames: ['ingest.example.com', 'live.example.com'],
};

beforeAll(async () => {
  await tool('helm');
}, toolBuildTimeoutMs);

describe('gateway TLS', () => {
  it('is off by default: no rtmps or https port, no TLS env or mount, no Certificate', async () => {
    const objs = await renderChart({ gateway: { enabled: true } });
    const pod = gatewayPod(objs);
    expect(Object.keys(pod.ports)).toEqual(['rtmp', 'http']);
    expect(Object.keys(pod.env).filter((k) => /RTMPS|HTTPS|TLS/.test(k))).toEqual([]);
    expect([pod.mount, pod.volume]).toEqual([undefined, undefined]);
    expect(servicePorts(objs).map((p) => p.name)).toEqual(['rtmp', 'http']);
    expect(certificates(objs)).toEqual([]);
    // certManager needs the gateway: nothing of it without gateway.enabled.
    const without = await renderChart({ gateway: { enabled: false, tls: { certManager: certManagerValues } } });
    expect(certificates(without)).toEqual([]);
  });

  it('mounts an existing kubernetes.io/tls Secret where the gateway reads it, and opens RTMPS and HTTPS', async () => {
    const objs = await renderChart({ gateway: { enabled: true, tls: { secretName: 'ingest-tls' } } });
    const pod = gatewayPod(objs);
    expect(pod.volume.secret).toEqual({
      secretName: 'ingest-tls',
      defaultMode: 0o440,
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
    });
    expect(pod.volume.secret.optional).toBeUndefined(); // a pod waits for its certificate
    expect(pod.mount).toEqual({ name: 'tls', mountPath: '/etc/livestream-gateway/tls', readOnly: true });
    expect(pod.env[gatewayEnv.tlsCertFile]).toBe(tlsMountPaths.certFile);
    expect(pod.env[gatewayEnv.tlsKeyFile]).toBe(tlsMountPaths.keyFile);
    expect(`${pod.mount.mountPath}/tls.crt`).toBe(tlsMountPaths.certFile);
    expect(Number(pod.env[gatewayEnv.rtmpsPort])).toBe(pod.ports.rtmps);
    expect(Number(pod.env[gatewayEnv.httpsPort])).toBe(pod.ports.https);
    expect([pod.ports.rtmps, pod.ports.https]).toEqual([gatewayDefaults.rtmpsPort, gatewayDefaults.httpsPort]);
    expect(servicePorts(objs)).toEqual([
      { name: 'rtmp', protocol: 'TCP', port: 1935, targetPort: 'rtmp' },
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
      { name: 'rtmps', protocol: 'TCP', port: 443, targetPort: 'rtmps' },
      { name: 'https', protocol: 'TCP', port: 8443, targetPort: 'https' },
    ]);
    expect(certificates(objs)).toEqual([]); // the user's Secret: nothing issues it here
    const ports = await renderChart({
      gateway: { enabled: true, tls: { secretName: 'ingest-tls' }, service: { rtmpsPort: 1936, httpsPort: 443 } },
    });
    expect(servicePorts(ports).slice(2)).toMatchObject([{ port: 1936 }, { port: 443 }]);
  });

  it('renders a cert-manager Certificate into the Secret the gateway mounts', async () => {
    const objs = await renderChart({ gateway: { enabled: true, tls: { certManager: certManagerValues } } });
    const [cert] = certificates(objs) as Obj[];
    expect(cert?.apiVersion).toBe('cert-manager.io/v1');
    expect(cert?.metadata).toMatchObject({ name: 'lso-livestream-operator-gateway', namespace: 'lso-system' });
    expect(cert?.spec).toMatchObject({
      secretName: 'lso-livestream-operator-gateway-tls',
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
      dnsNames: ['ingest.example.com', 'live.example.com'],
      duration: '2160h',
      renewBefore: '360h',
      privateKey: { rotationPolicy: 'Always' },
    });
    expect(gatewayPod(objs).volume.secret.secretName).toBe(cert?.spec.secretName);
    expect(servicePorts(objs).map((p) => p.name)).toEqual(['rtmp', 'http', 'rtmps', 'https']);
    // secretName names the Secret cert-manager writes; an Issuer in the release namespace.
    const named = await renderChart({
      gateway: {
        enabled: true,
        tls: {
          secretName: 'ingest-tls',
          certManager: { ...certManagerValues, issuerRef: { name: 'ca', kind: 'Issuer', group: 'cert-manager.io' } },
        },
      },
    });
    expect(one(named, 'Certificate', '-gateway').spec).toMatchObject({
      secretName: 'ingest-tls',
      issuerRef: { kind: 'Issuer', name: 'ca' },
    });
    expect(gatewayPod(named).volume.secret.secretName).toBe('ingest-tls');
  });

  it.each([
    [{ certManager: { enabled: true, issuerRef: { name: 'le' } } }, /dnsNames.*minItems/s],
    [{ certManager: { enabled: true, dnsNames: ['a.example.com'] } }, /issuerRef\/name.*minLength/s],
    [{ certManager: { ...certManagerValues, issuerRef: { name: 'le', kind: 'Other' } } }, /issuerRef\/kind/],
    [{ certManager: { ...certManagerValues, duration: '90d' } }, /duration/],
    [{ certManager: { ...certManagerValues, dnsNames: ['Not A Name'] } }, /dnsNames/],
    [{ secretName: 'Bad_Name' }, /secretName/],
    [{ secret: 'x' }, /additional properties 'secret'/],
  ])('refuses gateway.tls %o through the schema', async (tls, message) => {
    await expect(renderChart({ gateway: { enabled: true, tls } })).rejects.toThrow(message);
  });
});
