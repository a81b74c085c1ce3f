// A throwaway PKI made with the system openssl: a CA, a server certificate for 127.0.0.1/localhost and a client
// certificate signed by the CA, plus a second CA's client certificate that must not be trusted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  rogueCert: string;
  rogueKey: string;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "pki-"));
  const ossl = (...args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const ca = (name: string) =>
    ossl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    );
  const leaf = (name: string, issuer: string, ext: string) => {
    ossl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    );
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${issuer}.crt`,
      "-CAkey",
      `${issuer}.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    );
  };
  ca("ca");
  ca("rogue-ca");
  leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
  leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    ca: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    clientCert: p("client.crt"),
    clientKey: p("client.key"),
    rogueCert: p("rogue.crt"),
    rogueKey: p("rogue.key"),
  };
}

/** GET over TLS trusting `ca`, with an optional client certificate; resolves the status or the refusal. */
export function tlsGet(
  url: string,
  ca: string,
  client?: { cert: string; key: string },
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      url,
      {
        ca: readFileSync(ca),
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
        agent: false,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode, body }));
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("error", (e) => resolve({ error: e.message }));
    req.end();
  });
}
