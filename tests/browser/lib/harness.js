// Test harness for the portal's browser tests: a fresh demo federation per
// test (own data dir, own 127.0.0.1 port), headless Chromium through
// playwright-core, TOTP codes computed here (RFC 6238, SHA-1, 6 digits, 30 s).

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const BIN = process.env.MAKONIS_BIN || path.join(REPO, 'target/debug/makonis');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// ---------------------------------------------------------------- TOTP

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 6-digit code for a base32 secret at a 30-second time step. */
export function totp(secret, step = Math.floor(Date.now() / 30000)) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const number = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, '0');
}

// ---------------------------------------------------------------- server

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const running = new Set();
// Servers never outlive the test process, even when it is interrupted.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

/**
 * Seeds a demo federation into a new temporary data dir and serves it on a
 * free 127.0.0.1 port. `stop()` kills the server and removes the data dir.
 */
/** A fresh demo; `extraArgs` go to `makonis demo` (e.g. `--with-openstack`). */
export async function startServer(extraArgs = []) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'makonis-browser-'));
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(BIN, ['demo', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.RUST_LOG || 'warn' },
    });
    running.add(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(child);
    });
    child.on('error', (e) => {
      exited = { error: e };
      running.delete(child);
    });

    const deadline = Date.now() + 60_000;
    while (exited === null && Date.now() < deadline) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (exited === null && Date.now() < deadline) {
      const logins = JSON.parse(await readFile(path.join(dataDir, 'demo-logins.json'), 'utf8'));
      const stop = async () => {
        if (exited === null) {
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await gone;
          clearTimeout(timer);
        }
        await rm(dataDir, { recursive: true, force: true });
      };
      return { url, dataDir, logins, output: () => output, stop, usedSteps: new Map() };
    }
    child.kill('SIGKILL');
    // Another process may have taken the port between probe and bind.
    if (attempt >= 3 || !/address already in use|AddrInUse/i.test(output)) {
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`makonis demo did not start (${BIN}): ${JSON.stringify(exited)}\n${output}`);
    }
  }
}

/** The demo login with this e-mail address. */
export function account(server, email) {
  const found = server.logins.find((l) => l.email === email);
  if (!found) throw new Error(`no demo login ${email}`);
  return found;
}

/**
 * A TOTP code for this user that the server has not seen yet: codes are
 * single-use per 30-second step and user, so wait for a new step if this
 * user already spent the current one. Also avoids the last two seconds of a
 * step so the code is not stale by the time it is submitted.
 */
export async function freshCode(server, login) {
  for (;;) {
    const now = Date.now();
    const step = Math.floor(now / 30000);
    const left = 30000 - (now % 30000);
    if (left < 2000 || server.usedSteps.get(login.email) === step) {
      await sleep(left + 50);
      continue;
    }
    server.usedSteps.set(login.email, step);
    return totp(login.totp_secret, step);
  }
}

// ---------------------------------------------------------------- browser

/**
 * Debian's Chromium in headless mode. Playwright gives every launch a fresh
 * temporary profile (user-data-dir). The background-networking flags stop
 * Chromium from calling out to the (unreachable) network.
 */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A new browser context (own cookies) with a page, pointed at the server. */
export async function newPage(browser, server) {
  const context = await browser.newContext({ baseURL: server.url, locale: 'lv-LV' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return page;
}

/** Labels of the login and MFA forms in the page's language. */
const LABELS = {
  lv: { email: 'E-pasts', password: 'Parole', code: 'Kods', login: 'Pieteikties', confirm: 'Apstiprināt' },
  en: { email: 'E-mail', password: 'Password', code: 'Code', login: 'Sign in', confirm: 'Confirm' },
};

export async function pageLang(page) {
  return page.evaluate(() => document.documentElement.lang);
}

/** Fills and submits the login form on the current page. */
export async function fillLogin(page, email, password) {
  const l = LABELS[await pageLang(page)];
  await page.getByLabel(l.email).fill(email);
  await page.getByLabel(l.password).fill(password);
  await clickAndWait(page, page.getByRole('button', { name: l.login }));
}

/** Opens the login page and signs in with the password; the browser ends up on /mfa. */
export async function submitPassword(page, login, next = null) {
  await page.goto(next ? `/login?next=${encodeURIComponent(next)}` : '/login');
  await fillLogin(page, login.email, login.password);
  await page.waitForURL(/\/mfa/);
}

/** Clicks something that submits a form or follows a link, and waits for the new page. */
export async function clickAndWait(page, locator) {
  await Promise.all([page.waitForEvent('framenavigated'), locator.click()]);
  await page.waitForLoadState('load');
}

/** Submits a code on the /mfa page and waits for the response page. */
export async function submitCode(page, code) {
  const l = LABELS[await pageLang(page)];
  await page.getByLabel(l.code).fill(code);
  await clickAndWait(page, page.getByRole('button', { name: l.confirm, exact: true }));
}

/** A six-digit code that is not valid for this secret now (nor one step either side). */
export function wrongCode(secret) {
  const step = Math.floor(Date.now() / 30000);
  const valid = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, step + d)));
  let n = Number(totp(secret, step));
  let code;
  do {
    n = (n + 111_111) % 1_000_000;
    code = String(n).padStart(6, '0');
  } while (valid.has(code));
  return code;
}

/** Full sign-in: password, then a fresh TOTP code. */
export async function signIn(page, server, email, next = null) {
  const login = account(server, email);
  await submitPassword(page, login, next);
  await submitCode(page, await freshCode(server, login));
  if (new URL(page.url()).pathname.startsWith('/mfa')) {
    throw new Error(`sign-in of ${email} failed: ${await page.locator('main').innerText()}`);
  }
  return login;
}
