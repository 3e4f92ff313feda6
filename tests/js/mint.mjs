// Mints keys and JWTs with jose (an implementation independent of bffd's) for the auth tests.
//   node mint.mjs keys DIR          RSA, P-256, P-384 and Ed25519 key pairs and an HMAC secret:
//                                   DIR/NAME.pub.pem, DIR/jwks.json (public, with kids),
//                                   DIR/private.json (what `sign` needs), DIR/hs.secret
//   node mint.mjs sign DIR < REQ    REQ: [{"key": NAME, "alg": ALG, "claims": {...},
//                                   "header": {...}}, ...]; prints the tokens as a JSON array
//   node mint.mjs verify PEM ALG ISS AUD < TOKEN
//                                   verifies a token bffd signed with PEM's public key; prints
//                                   {"header": ..., "payload": ...} or fails
import { generateKeyPair, exportSPKI, exportJWK, importJWK, importSPKI, SignJWT, jwtVerify } from "jose";
import { readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";

const [, , cmd, dir] = process.argv;
const kinds = {
  rsa: ["RS256", { modulusLength: 2048 }],
  rsa2: ["RS256", { modulusLength: 2048 }], // a second RSA key: rotation and foreign-key tests
  p256: ["ES256", {}],
  p384: ["ES384", {}],
  ed: ["EdDSA", { crv: "Ed25519" }],
};

if (cmd === "keys") {
  const priv = {}, jwks = { keys: [] };
  for (const [name, [alg, opts]] of Object.entries(kinds)) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { ...opts, extractable: true });
    writeFileSync(`${dir}/${name}.pub.pem`, await exportSPKI(publicKey));
    const pub = await exportJWK(publicKey);
    if (name !== "rsa2") jwks.keys.push({ ...pub, kid: name, use: "sig" });
    writeFileSync(`${dir}/${name}.pub.jwk`, JSON.stringify({ ...pub, kid: name }));
    priv[name] = await exportJWK(privateKey);
  }
  const secret = randomBytes(32).toString("hex"); // 64 ASCII bytes
  writeFileSync(`${dir}/hs.secret`, secret);
  writeFileSync(`${dir}/jwks.json`, JSON.stringify(jwks));
  writeFileSync(`${dir}/private.json`, JSON.stringify(priv));
} else if (cmd === "sign") {
  const priv = JSON.parse(readFileSync(`${dir}/private.json`, "utf8"));
  const secret = new TextEncoder().encode(readFileSync(`${dir}/hs.secret`, "utf8"));
  const reqs = JSON.parse(readFileSync(0, "utf8"));
  const out = [];
  for (const r of reqs) {
    const key = r.key === "hs" ? secret
      : r.key === "raw" ? new TextEncoder().encode(r.secret)
      : await importJWK(priv[r.key], r.alg);
    const jwt = new SignJWT(r.claims).setProtectedHeader({ alg: r.alg, ...(r.header || {}) });
    out.push(await jwt.sign(key));
  }
  process.stdout.write(JSON.stringify(out));
} else if (cmd === "verify") {
  const [, , , pem, alg, issuer, audience] = process.argv;
  const key = await importSPKI(readFileSync(pem, "utf8"), alg);
  const token = readFileSync(0, "utf8").trim();
  const { payload, protectedHeader } = await jwtVerify(token, key, { issuer, audience, algorithms: [alg] });
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload }));
} else {
  console.error("usage: node mint.mjs keys DIR | sign DIR < requests.json | verify PEM ALG ISS AUD < token");
  process.exit(2);
}
