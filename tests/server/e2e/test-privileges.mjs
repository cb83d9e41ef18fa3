// test-privileges.mjs - started as root, tandem keeps its privileges only
// in a separate judge supervisor: every process that holds the listening
// socket runs as --user (default nobody) with no capabilities, and a
// second tandem process, the supervisor, exists beside it.  Both are gone
// after SIGTERM.  Needs root (skips locally otherwise, fails in CI).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';

import { TANDEM_BIN, Tandem, requirements, skipFile } from './harness.mjs';

await requirements();
if (process.getuid() !== 0) skipFile('tandem drops privileges only when started as root; this runs as uid ' + process.getuid());

let srv;
before(async () => {
	srv = await Tandem.start();
});
after(async () => {
	await srv?.stop();
});

// uid of a user from /etc/passwd.
function uidOf(name) {
	for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
		const f = line.split(':');
		if (f[0] === name) return Number(f[2]);
	}
	return null;
}

// Socket inodes listening on port (state 0A = LISTEN), IPv4 or IPv6: the
// server may use one dual-stack socket, which /proc/net/tcp6 lists.
function listenInodes(port) {
	const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
	const out = [];
	for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
		let text = '';
		try {
			text = fs.readFileSync(file, 'utf8');
		} catch {
			continue;
		}
		for (const line of text.split('\n').slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length > 9 && f[1].endsWith(hexPort) && f[3] === '0A') out.push(f[9]);
		}
	}
	return out;
}

const pids = () =>
	fs
		.readdirSync('/proc')
		.filter((d) => /^\d+$/.test(d))
		.map(Number);

// Pids holding socket:[inode] for any of the inodes.
function holders(inodes) {
	const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
	const out = [];
	for (const pid of pids()) {
		let fds;
		try {
			fds = fs.readdirSync(`/proc/${pid}/fd`);
		} catch {
			continue;
		}
		for (const fd of fds) {
			let link;
			try {
				link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
			} catch {
				continue;
			}
			if (wanted.has(link)) {
				out.push(pid);
				break;
			}
		}
	}
	return out;
}

function status(pid) {
	const s = {};
	for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
		const i = line.indexOf(':');
		if (i > 0) s[line.slice(0, i)] = line.slice(i + 1).trim();
	}
	return s;
}

// pid and all its descendants.
function tree(root) {
	const parent = new Map();
	for (const pid of pids()) {
		try {
			const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
			parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
		} catch {
			/* gone meanwhile */
		}
	}
	const out = [root];
	for (let grew = true; grew; ) {
		grew = false;
		for (const [pid, pp] of parent)
			if (out.includes(pp) && !out.includes(pid)) {
				out.push(pid);
				grew = true;
			}
	}
	return out;
}

const exe = (pid) => {
	try {
		return fs.readlinkSync(`/proc/${pid}/exe`);
	} catch {
		return null;
	}
};

test('the process owning the listening socket runs unprivileged, beside a supervisor', () => {
	const inodes = listenInodes(srv.port);
	assert.ok(inodes.length > 0, `a listening socket on 127.0.0.1:${srv.port} in /proc/net/tcp`);
	const owners = holders(inodes);
	assert.ok(owners.length > 0, `some process holds socket inode(s) ${inodes}`);
	const nobody = uidOf('nobody');
	const family = tree(srv.proc.pid);
	for (const pid of owners) {
		assert.ok(family.includes(pid), `the socket holder ${pid} is tandem's (tree ${family})`);
		const st = status(pid);
		const uids = st.Uid.split(/\s+/).map(Number);
		const gids = st.Gid.split(/\s+/).map(Number);
		assert.ok(uids.every((u) => u !== 0), `listener pid ${pid} runs with uids ${st.Uid} (real, effective, saved, fs): none may be 0`);
		assert.ok(gids.every((g) => g !== 0), `listener pid ${pid} runs with gids ${st.Gid}: none may be 0`);
		if (nobody !== null) assert.equal(uids[1], nobody, `listener pid ${pid} runs as nobody (--user default)`);
		assert.match(st.Groups || '', /^(\s*|[1-9]\d*(\s+[1-9]\d*)*)$/, `listener pid ${pid} has no group 0: "${st.Groups}"`);
		for (const cap of ['CapEff', 'CapPrm', 'CapAmb'])
			if (st[cap] !== undefined) assert.match(st[cap], /^0+$/, `listener pid ${pid} ${cap}=${st[cap]}`);
	}
	const tandemExe = fs.realpathSync(TANDEM_BIN);
	const others = family.filter((pid) => !owners.includes(pid) && exe(pid) === tandemExe);
	assert.ok(
		others.length > 0,
		`a separate tandem process (the judge supervisor) exists beside the listener(s) ${owners}; tandem's tree: ${family
			.map((p) => `${p}:${exe(p)}`)
			.join(', ')}`,
	);
	const rootSup = others.filter((pid) => status(pid).Uid.split(/\s+/)[1] === '0');
	assert.ok(rootSup.length > 0, `the supervisor keeps root (for namespaces and cgroups): ${others.map((p) => `${p} uid ${status(p).Uid}`)}`);
	srv.family = family;
});

test('SIGTERM ends every tandem process', async () => {
	const family = srv.family || tree(srv.proc.pid);
	const tandemExe = fs.realpathSync(TANDEM_BIN);
	const ours = family.filter((pid) => exe(pid) === tandemExe);
	assert.ok(ours.length >= 2, `tandem and its supervisor run before SIGTERM: ${family.map((p) => `${p}:${exe(p)}`)}`);
	await srv.stop();
	srv = null;
	// The supervisor may be reaped a moment after the main process exits:
	// wait for each pid to disappear, bounded.
	const deadline = Date.now() + 5000;
	for (;;) {
		const alive = ours.filter((pid) => {
			try {
				return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
			} catch {
				return false;
			}
		});
		if (alive.length === 0) break;
		assert.ok(Date.now() < deadline, `tandem processes still alive 5 s after the main one exited: ${alive}`);
		await new Promise((r) => setTimeout(r, 20));
	}
});
