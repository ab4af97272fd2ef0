// Per-cluster certificates, made with the openssl CLI (Node has no API to issue X.509 certificates).
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClientIdentity {
  /** File stem under pki/, e.g. "admin". */
  file: string;
  commonName: string;
  organization?: string;
}

/** The identities of the control plane's own clients; RBAC's bootstrap policy knows these names. */
export const clientIdentities: ClientIdentity[] = [
  { file: 'admin', commonName: 'kubernetes-admin', organization: 'system:masters' },
  { file: 'kube-controller-manager', commonName: 'system:kube-controller-manager' },
  { file: 'kube-scheduler', commonName: 'system:kube-scheduler' },
  // The operator when it runs outside the cluster in tests: its own user name lets the audit log tell its writes apart.
  { file: 'livestream-operator', commonName: 'livestream-operator', organization: 'system:masters' },
  {
    file: 'apiserver-kubelet-client',
    commonName: 'kube-apiserver-kubelet-client',
    organization: 'kubeadm:cluster-admins',
  },
];

/** The node's clients (kubelet as a member of system:nodes, so the Node authorizer scopes it), when there is a node. */
export function nodeIdentities(nodeName: string): ClientIdentity[] {
  return [
    { file: 'kubelet', commonName: `system:node:${nodeName}`, organization: 'system:nodes' },
    { file: 'kube-proxy', commonName: 'system:kube-proxy' },
    { file: 'coredns', commonName: 'system:coredns' },
  ];
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  client(file: string): { cert: string; key: string };
  /** The identities issued, the control plane's and the node's. */
  identities: ClientIdentity[];
}

export interface PkiOptions {
  /** Names of the API server's serving certificate. */
  ips: string[];
  dns: string[];
  /** A node: its clients' certificates and kubelet's serving certificate (`kubelet-server.crt`). */
  node?: { name: string; ip: string };
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function issue(
  dir: string,
  stem: string,
  subject: string,
  extensions: string,
  ca: { cert: string; key: string },
): Promise<void> {
  const key = join(dir, `${stem}.key`);
  const csr = join(dir, `${stem}.csr`);
  const ext = join(dir, `${stem}.ext`);
  await writeFile(ext, extensions);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '365',
    '-sha256',
    '-extfile',
    ext,
    '-out',
    join(dir, `${stem}.crt`),
  ]);
}

/** Creates a fresh CA, the API server's serving certificate, client certificates and the service-account key pair. */
export async function createPki(dir: string, options: PkiOptions): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-subj',
    '/CN=livestream-operator-local-ca',
    '-days',
    '365',
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    caCert,
  ]);
  const ca = { cert: caCert, key: caKey };
  const san = (ips: string[], dns: string[]) =>
    [...ips.map((ip) => `IP:${ip}`), ...dns.map((d) => `DNS:${d}`)].join(',');
  const serving = (names: string) => `subjectAltName=${names}\nextendedKeyUsage=serverAuth\n`;
  await issue(dir, 'apiserver', '/CN=kube-apiserver', serving(san(options.ips, options.dns)), ca);
  const identities = [...clientIdentities, ...(options.node ? nodeIdentities(options.node.name) : [])];
  if (options.node) {
    const { name, ip } = options.node;
    await issue(dir, 'kubelet-server', `/CN=${name}`, serving(san([ip], [name])), ca);
  }
  for (const id of identities) {
    const subject = `${id.organization ? `/O=${id.organization}` : ''}/CN=${id.commonName}`;
    await issue(dir, id.file, subject, 'extendedKeyUsage=clientAuth\n', ca);
  }
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccountKey]);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return {
    dir,
    caCert,
    caKey,
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    serviceAccountKey,
    serviceAccountPub,
    client: (file) => ({ cert: join(dir, `${file}.crt`), key: join(dir, `${file}.key`) }),
    identities,
  };
}
