/**
 * Test-only PKI made at test time with the openssl CLI: a CA, a server certificate for
 * localhost / 127.0.0.1, a client certificate signed by the CA, and a client certificate
 * from another CA (which the router must refuse). Each name gets a PKI of its own (several
 * routers, each with its own CA and client certificate).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  dir: string;
  caPem: string;
  serverCert: string;
  serverKey: string;
  /** Paths of the client side files, in the names README's client set-up uses. */
  client: { ca: string; cert: string; key: string };
  /** A client certificate and key signed by another CA. */
  rogue: { cert: string; key: string };
  /** A CA that did not sign the server certificate. */
  otherCa: string;
}

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

function keyPair(dir: string, name: string) {
  openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
}

function ca(dir: string, name: string, cn: string) {
  keyPair(dir, name);
  openssl(dir, "req", "-new", "-x509", "-days", "30", "-key", `${name}.key`, "-out", `${name}.pem`, "-subj", `/CN=${cn}`);
}

function signed(dir: string, name: string, cn: string, caName: string, extensions: string) {
  keyPair(dir, name);
  openssl(dir, "req", "-new", "-key", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${caName}.pem`,
    "-CAkey",
    `${caName}.key`,
    "-CAcreateserial",
    "-days",
    "30",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  );
}

const cached = new Map<string, TestPki>();

/** The PKI of `name` ("default": the client's CN is pi-client; any other: pi-client-<name>). */
export function testPki(name = "default"): TestPki {
  const known = cached.get(name);
  if (known) return known;
  const dir = mkdtempSync(join(tmpdir(), "pi-llama-pki-"));
  const suffix = name === "default" ? "" : `-${name}`;
  ca(dir, "root-ca", `Test Root CA${suffix}`);
  ca(dir, "other-ca", "Other CA");
  signed(dir, "server", "localhost", "root-ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  signed(dir, "client", `pi-client${suffix}`, "root-ca", "extendedKeyUsage=clientAuth\n");
  signed(dir, "rogue", "rogue-client", "other-ca", "extendedKeyUsage=clientAuth\n");
  for (const key of ["client.key", "rogue.key"]) chmodSync(join(dir, key), 0o600);
  const pki: TestPki = {
    dir,
    caPem: readFileSync(join(dir, "root-ca.pem"), "utf8"),
    serverCert: readFileSync(join(dir, "server.pem"), "utf8"),
    serverKey: readFileSync(join(dir, "server.key"), "utf8"),
    client: { ca: join(dir, "root-ca.pem"), cert: join(dir, "client.pem"), key: join(dir, "client.key") },
    rogue: { cert: join(dir, "rogue.pem"), key: join(dir, "rogue.key") },
    otherCa: join(dir, "other-ca.pem"),
  };
  cached.set(name, pki);
  return pki;
}
