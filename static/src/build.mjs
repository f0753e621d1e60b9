// Builds static/dist from static/src and the USWDS npm package: the one style sheet (Sass, only the USWDS
// packages styles.scss names), the scripts, and the fonts and images the style sheet uses. Every file gets a name
// holding a hash of its content, so it can be cached for a year; manifest.json maps each logical name to it, and
// text files get .gz and .br copies beside them for servers to send as they are. The build writes a new folder
// and puts it in place only when everything succeeded.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import * as sass from "sass";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = path.join(ROOT, "static/src");
const USWDS = path.join(ROOT, "node_modules/@uswds/uswds");
const OUT = path.join(ROOT, "static/dist");
const BUILDING = `${OUT}.building`;
const COMPRESSIBLE = new Set([".css", ".js", ".svg", ".json"]);

// Files the templates name (asset("...")), besides the style sheet: logical name -> source.
const FILES = {
  "uswds-init.js": path.join(USWDS, "dist/js/uswds-init.min.js"),
  "uswds.js": path.join(USWDS, "dist/js/uswds.min.js"),
  "app.js": path.join(SRC, "app.js"),
  "favicon.svg": path.join(SRC, "favicon.svg"),
  "img/usa-icons/close.svg": path.join(USWDS, "dist/img/usa-icons/close.svg"),
  "img/usa-icons-bg/search--white.svg": path.join(USWDS, "dist/img/usa-icons-bg/search--white.svg"),
};

const manifest = {};

function write(name, content) {
  const ext = path.extname(name);
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 10);
  const hashed = `${path.basename(name, ext)}.${hash}${ext}`;
  fs.writeFileSync(path.join(BUILDING, hashed), content);
  if (COMPRESSIBLE.has(ext)) {
    fs.writeFileSync(path.join(BUILDING, `${hashed}.gz`), zlib.gzipSync(content, { level: 9 }));
    fs.writeFileSync(path.join(BUILDING, `${hashed}.br`), zlib.brotliCompressSync(content, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: content.length },
    }));
  }
  manifest[name] = hashed;
  return hashed;
}

function script(source) {
  // The source map is not shipped: drop the comment that would make browsers' developer tools ask for it.
  return Buffer.from(fs.readFileSync(source, "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n"));
}

function styles() {
  const { css } = sass.compile(path.join(SRC, "styles.scss"), {
    loadPaths: [path.join(USWDS, "packages"), SRC],
    style: "compressed",
    quietDeps: true,
  });
  // USWDS writes url("fonts/...") and url("img/..."): each becomes a hashed file beside the style sheet.
  const rewritten = css.replace(/url\(\s*(["']?)([^"')]+)\1\s*\)/g, (whole, quote, url) => {
    if (url.startsWith("data:")) return whole;
    const source = path.join(USWDS, "dist", url);
    if (!fs.existsSync(source)) throw new Error(`styles.scss uses ${url}, which USWDS does not ship`);
    const name = manifest[url] ?? write(url, fs.readFileSync(source));
    return `url(${quote}${name}${quote})`;
  });
  write("styles.css", Buffer.from(rewritten));
}

fs.rmSync(BUILDING, { recursive: true, force: true });
fs.mkdirSync(BUILDING, { recursive: true });
try {
  styles();
  for (const [name, source] of Object.entries(FILES)) {
    write(name, name.endsWith(".js") ? script(source) : fs.readFileSync(source));
  }
  fs.writeFileSync(path.join(BUILDING, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.renameSync(BUILDING, OUT);
} catch (error) {
  fs.rmSync(BUILDING, { recursive: true, force: true });
  throw error;
}
const total = (suffix) => Object.values(manifest).reduce(
  (sum, name) => sum + fs.statSync(path.join(OUT, fs.existsSync(path.join(OUT, name + suffix)) ? name + suffix : name)).size, 0);
console.log(`static/dist: ${Object.keys(manifest).length} files, ${Math.round(total("") / 1024)} KB, `
            + `${Math.round(total(".br") / 1024)} KB with Brotli`);
