// gzip.mjs DIR: writes NAME.gz beside every compressible file under DIR, so
// `tandem serve --static` can answer Accept-Encoding: gzip without
// compressing on each request.  Level 9: this runs once per build.
// A .gz is kept only when it is smaller than its file.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const COMPRESSIBLE = /\.(js|mjs|css|html|wasm|svg|json|txt|map)$/;

function walk(dir, out) {
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) walk(p, out);
		else if (COMPRESSIBLE.test(e.name)) out.push(p);
	}
	return out;
}

const root = process.argv[2];
if (!root || !fs.existsSync(root)) {
	console.error(`gzip.mjs: no such directory: ${root}`);
	process.exit(1);
}
let raw = 0;
let packed = 0;
for (const file of walk(root, [])) {
	const data = fs.readFileSync(file);
	const gz = zlib.gzipSync(data, { level: 9 });
	if (gz.length >= data.length) continue;
	fs.writeFileSync(`${file}.gz`, gz);
	raw += data.length;
	packed += gz.length;
}
console.log(`gzip.mjs: ${root}: ${raw} bytes -> ${packed} gzipped`);
