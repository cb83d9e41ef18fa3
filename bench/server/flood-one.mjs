// flood-one.mjs - what one flooding client costs the server, apart from
// everything else the load benchmark's flood phase runs.  A fresh `tandem
// serve` (TANDEM_BIN, at the documented --ops-per-s 200) with one room: the
// candidate writes awareness frames of 4 KB, paste events and notes of 100
// characters, in turn, as fast as its socket takes them (while less than
// 64 KiB wait in node's buffer) for --seconds; the interviewer reads.
// Prints the server's CPU time over the flood (utime+stime from /proc, which
// other load on a shared machine moves far less than wall time), the frames
// written, the rate_limited answers and what the interviewer received.
// Needs Redis and PostgreSQL (scripts/services start, TANDEM_REDIS_URL and
// TANDEM_PG from scripts/services env), like tests/server/e2e, whose
// harness it uses.  Run: TANDEM_BIN=build-loadbench/server/tandem node
// bench/server/flood-one.mjs [--seconds 10] [--ops-per-s 200]
import fs from 'node:fs';

import { Tandem, requirements } from '../../tests/server/e2e/harness.mjs';

await requirements();

let seconds = 10;
let opsPerS = 200; // --ops-per-s 100000: every frame is read (the cost of reading one)
for (let i = 2; i < process.argv.length; i++)
	if (process.argv[i] === '--seconds') seconds = Number(process.argv[++i]);
	else if (process.argv[i] === '--ops-per-s') opsPerS = Number(process.argv[++i]);

const cpuS = (pid) => {
	const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks
};

const srv = await Tandem.start({ args: ['--ops-per-s', String(opsPerS)] });
const room = await srv.createRoom();
const iv = await srv.join(room, 'interviewer');
const cand = await srv.join(room, 'candidate');
const empty = JSON.stringify({ t: 'awareness', cursor: 0, name: '' });
const frames = [
	JSON.stringify({ t: 'awareness', cursor: 0, name: 'y'.repeat(4096 - empty.length) }),
	JSON.stringify({ t: 'event', kind: 'paste', size: 120, id: 1 }), // an id: its budget's refusals echo it
	JSON.stringify({ t: 'note', text: 'n'.repeat(100) }),
];
const errors0 = cand.errors.length;
const cpu0 = cpuS(srv.proc.pid);
const t0 = Date.now();
let sent = 0;
await new Promise((resolve) => {
	const tick = setInterval(() => {
		if (Date.now() - t0 >= seconds * 1000) {
			clearInterval(tick);
			resolve();
			return;
		}
		for (let n = 0; n < 64 && cand.ws.bufferedAmount < 65536; n++) cand.ws.send(frames[sent++ % frames.length]);
	}, 1);
});
const cpu = cpuS(srv.proc.pid) - cpu0;
const wall = (Date.now() - t0) / 1000;
const answers = {};
// rate_limited without an id refuses a frame unread (the per-connection
// budget); with one, an event the events' own budget refused once read.
for (const e of cand.errors.slice(errors0)) {
	const k = e.code === 'rate_limited' ? (e.id === undefined ? 'rate_limited unread' : 'rate_limited event') : e.code;
	answers[k] = (answers[k] || 0) + 1;
}
const got = { awareness: iv.peek('awareness').length, event: iv.peek('event').length };
console.log(
	JSON.stringify({
		bin: process.env.TANDEM_BIN,
		seconds: wall,
		serverCpuS: cpu,
		serverCorePct: Math.round((100 * cpu) / wall),
		// every third frame read is a note, refused with forbidden once read
		serverUsPerFrameRead: Math.round((1e6 * cpu) / (3 * (answers.forbidden || 0))),
		framesWritten: sent,
		answers,
		peerReceived: got,
		loadavg: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
	}),
);
cand.ws.terminate();
await iv.close();
await srv.stop();
process.exit(0);
