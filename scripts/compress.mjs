// Writes .br and .gz copies of the browser bundle's text and WebAssembly
// files at the highest levels, so the server sends them without
// compressing anything at run time. Usage: node scripts/compress.mjs DIR
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const COMPRESSIBLE = /\.(wasm|js|css|svg|json|txt|html)$/;

function compress(directory) {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) {
      compress(path);
    } else if (COMPRESSIBLE.test(name)) {
      const data = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
      writeFileSync(
        `${path}.br`,
        brotliCompressSync(data, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
            [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
          },
        }),
      );
    }
  }
}

compress(process.argv[2]);
