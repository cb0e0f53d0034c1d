// axe-core on every portal page a platform admin can reach, in Latvian and
// in English. Fails on any serious or critical violation and prints the
// rule, the page and the offending nodes.
//
// Pages: the sign-in pages (also with errors shown), everything reachable
// by following links from the home page (one page per route, ids folded),
// 404 pages, every form submitted with errors, and pages with notices.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { audit, report } from '../lib/axe.js';
import {
  account,
  clickAndWait,
  fillLogin,
  freshCode,
  launchBrowser,
  newPage,
  pageLang,
  startServer,
  submitCode,
  submitPassword,
  wrongCode,
} from '../lib/harness.js';

const ADMIN = 'admin@makonis.lv';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Routes the crawl must reach; a missing one means a link went away. */
const EXPECTED_ROUTES = [
  '/',
  '/institutions',
  '/institutions/new',
  '/institutions/{id}',
  '/institutions/{id}/edit',
  '/systems',
  '/systems/new',
  '/systems/{id}',
  '/systems/{id}/edit',
  '/users',
  '/users/new',
  '/users/{id}',
  '/audit',
  '/costs',
  '/embassy',
  '/embassy/systems/{id}',
  '/account',
  '/mfa/enrol',
  '/api/v1/docs',
];

/** Links that lead to no page to check (JSON, CSS, the language switch). */
const NOT_PAGES = [/^\/lang\//, /^\/static\//, /^\/api\/v1\/openapi\.json/, /^\/(healthz|readyz|metrics)\b/];

function routeOf(pathname) {
  return pathname
    .split('/')
    .map((s) => (UUID.test(s) ? '{id}' : s))
    .join('/');
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Collects axe results page by page; fails once at the end with all of them. */
class Checker {
  constructor(t, lang) {
    this.t = t;
    this.lang = lang;
    this.failures = [];
    this.checked = [];
  }

  async check(page, name) {
    const where = `${name} [${this.lang}] ${new URL(page.url()).pathname}`;
    const lang = await pageLang(page);
    // The API docs are English-only by design.
    const expected = name === 'API docs' ? 'en' : this.lang;
    assert.equal(lang, expected, `<html lang> on ${where}`);
    const { failing, other } = await audit(page);
    this.checked.push(where);
    if (failing.length) this.failures.push(report(where, failing));
    if (other.length && process.env.AXE_VERBOSE) this.t.diagnostic(report(where, other));
  }

  finish() {
    this.t.diagnostic(`axe checked ${this.checked.length} pages in ${this.lang}`);
    if (this.failures.length) {
      assert.fail(`serious or critical accessibility violations:\n${this.failures.join('\n')}`);
    }
  }
}

/** Empties every text field of the page's last POST form in <main>, submits it, expects errors. */
async function submitEmpty(page) {
  const form = page.locator('main form[method="post"]').last();
  const fields = form.locator(
    'input[type="text"], input[type="email"], input[type="password"], input[type="number"], textarea',
  );
  for (const field of await fields.all()) await field.fill('');
  await clickAndWait(page, form.locator('button[type="submit"]').last());
  await page.locator('.error-summary[role="alert"]').waitFor();
}

for (const lang of ['lv', 'en']) {
  test(`axe: every page a platform admin reaches has no serious or critical violations (${lang})`, async (t) => {
    const server = await startServer();
    t.after(server.stop);
    const page = await newPage(browser, server);
    const axe = new Checker(t, lang);
    const admin = account(server, ADMIN);

    // Sign-in pages, before and after a mistake.
    await page.goto(`/lang/${lang}?next=/login`);
    await axe.check(page, 'login');
    await fillLogin(page, admin.email, 'not-the-password');
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.getByRole('alert').waitFor();
    await axe.check(page, 'login (errors shown)');
    await submitPassword(page, admin);
    await axe.check(page, 'MFA');
    await submitCode(page, wrongCode(admin.totp_secret));
    await axe.check(page, 'MFA (errors shown)');
    await submitCode(page, await freshCode(server, admin));
    assert.equal(new URL(page.url()).pathname, '/');

    // Every route reachable by links, one page per route.
    const seen = new Map(); // route -> first URL
    const queue = ['/'];
    while (queue.length) {
      const href = queue.shift();
      const url = new URL(href, server.url);
      const route = routeOf(url.pathname);
      if (seen.has(route)) continue;
      seen.set(route, url.pathname + url.search);
      const response = await page.goto(url.pathname + url.search);
      assert.ok(response.ok(), `${url.pathname}: HTTP ${response.status()}`);
      await axe.check(page, route === '/api/v1/docs' ? 'API docs' : route);
      const links = await page.evaluate(() => [...document.querySelectorAll('a[href]')].map((a) => a.href));
      for (const link of links) {
        const target = new URL(link);
        if (target.origin !== server.url || target.hash) continue;
        if (NOT_PAGES.some((re) => re.test(target.pathname))) continue;
        if (!seen.has(routeOf(target.pathname))) queue.push(target.pathname + target.search);
      }
    }
    const missing = EXPECTED_ROUTES.filter((r) => !seen.has(r));
    assert.deepEqual(missing, [], 'routes the crawl did not reach');

    // Not found: an unknown path (no session shown) and an unknown record.
    let response = await page.goto('/no-such-page');
    assert.equal(response.status(), 404);
    await axe.check(page, '404 (unknown path)');
    response = await page.goto('/systems/00000000-0000-7000-8000-000000000000');
    assert.equal(response.status(), 404);
    await axe.check(page, '404 (unknown system)');

    // Every form, submitted with its fields emptied, shows errors.
    const system = seen.get('/systems/{id}');
    const institution = seen.get('/institutions/{id}');
    for (const path of ['/systems/new', `${system}/edit`, '/institutions/new', `${institution}/edit`, '/users/new', '/account']) {
      await page.goto(path);
      await submitEmpty(page);
      await axe.check(page, `${routeOf(path)} (errors shown)`);
    }

    // Notices after a change, and a new API token's one-time secret.
    await page.goto(`${system}?notice=saved`);
    await page.locator('.notice[role="status"]').waitFor();
    await axe.check(page, '/systems/{id} (notice shown)');
    await page.goto('/account');
    const tokenForm = page.locator('main form[method="post"]').last();
    await tokenForm.locator('input[name="name"]').fill('axe');
    await clickAndWait(page, tokenForm.locator('button[type="submit"]'));
    await page.locator('code.secret').waitFor();
    await axe.check(page, '/account (new token shown)');

    axe.finish();
  });
}
