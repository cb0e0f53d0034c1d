// The portal as a person uses it, in headless Chromium: sign-in with
// password and TOTP, registering an information system, field errors in
// both languages, a wrong second factor, and tenant isolation.
// Every test gets a fresh demo federation on its own port.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  account,
  clickAndWait,
  launchBrowser,
  newPage,
  pageLang,
  signIn,
  startServer,
  submitCode,
  submitPassword,
  wrongCode,
} from '../lib/harness.js';

const VID_ADMIN = 'admin@vid.gov.lv';
const PMLP_ADMIN = 'admin@pmlp.gov.lv';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function freshServer(t) {
  const server = await startServer();
  t.after(server.stop);
  return server;
}

function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Text of the table cells in the row whose first cell links to `code`. */
async function rowFor(page, code) {
  const row = page.locator('main table tbody tr').filter({ has: page.getByRole('link', { name: code, exact: true }) });
  assert.equal(await row.count(), 1, `one row for ${code} in ${page.url()}`);
  return row.locator('td').allInnerTexts();
}

/** The rows of the /systems table: code, detail link, institution. */
async function systemRows(page) {
  return page.locator('main table tbody tr').evaluateAll((rows) =>
    rows.map((row) => ({
      code: row.cells[0].innerText,
      href: row.cells[0].querySelector('a').getAttribute('href'),
      institution: row.cells[2].innerText,
    })),
  );
}

test('VID admin signs in with password and TOTP, registers a system, finds it in the list and opens it', async (t) => {
  const server = await freshServer(t);
  const page = await newPage(browser, server);

  await signIn(page, server, VID_ADMIN);
  assert.equal(pathOf(page), '/');
  assert.equal(await pageLang(page), 'lv');
  await page.getByRole('heading', { level: 1, name: /Sveicināti/ }).waitFor();

  await clickAndWait(page, page.getByRole('navigation', { name: 'Galvenā navigācija' }).getByRole('link', { name: 'Informācijas sistēmas' }));
  await clickAndWait(page, page.getByRole('link', { name: 'Jauna informācijas sistēma' }));
  assert.equal(pathOf(page), '/systems/new');

  const code = `BRT-${Date.now() % 100000}`;
  const name = 'Pārlūka testa reģistrs';
  // VID's admin may register systems only for VID: the only choice.
  const institution = page.getByLabel('Iestāde');
  assert.deepEqual(
    (await institution.locator('option').allInnerTexts()).map((s) => s.split(' — ')[0]),
    ['VID'],
  );
  await page.getByLabel('Kods').fill(code);
  await page.getByLabel('Nosaukums').fill(name);
  await page.getByLabel('Apraksts').fill('Izveidota ar pārlūka testu.');
  await page.getByLabel('Atbildīgā persona').fill('Anna Testa');
  await page.getByLabel('Atbildīgās personas e-pasts').fill('anna.testa@vid.gov.lv');
  await page.getByLabel('Drošības kategorija').selectOption('A');
  await page.getByLabel('Kritiskā infrastruktūra').check();
  await page.getByLabel('Datu klasifikācija').selectOption('restricted');
  await page.getByLabel('Atjaunošanas punkta mērķis (RPO)').fill('15');
  await page.getByLabel('Atjaunošanas laika mērķis (RTO)').fill('120');
  await page.getByLabel('Dzīves cikla posms').selectOption('development');
  await clickAndWait(page, page.getByRole('button', { name: 'Saglabāt' }));

  assert.match(pathOf(page), /^\/systems\/[0-9a-f-]{36}$/, `after save: ${page.url()}`);
  const detailUrl = pathOf(page);
  await page.getByRole('status').filter({ hasText: 'Ieraksts izveidots.' }).waitFor();

  // In the list, with the values entered.
  await clickAndWait(page, page.getByRole('link', { name: 'Informācijas sistēmas', exact: true }).first());
  assert.equal(pathOf(page), '/systems');
  const cells = await rowFor(page, code);
  assert.deepEqual(cells, [code, name, 'VID', 'A', 'Jā', 'Izstrādē']);

  // Its detail page.
  await clickAndWait(page, page.getByRole('link', { name: code, exact: true }));
  assert.equal(pathOf(page), detailUrl);
  await page.getByRole('heading', { level: 1, name: `${code} — ${name}` }).waitFor();
  const details = Object.fromEntries(
    await page.locator('dl.details dt').evaluateAll((dts) => dts.map((dt) => [dt.innerText, dt.nextElementSibling.innerText])),
  );
  assert.equal(details['Iestāde'], 'Valsts ieņēmumu dienests');
  assert.equal(details['Drošības kategorija'], 'A (augstākā)');
  assert.equal(details['Kritiskā infrastruktūra'], 'Jā');
  assert.equal(details['Atjaunošanas punkta mērķis (RPO)'], '15 min');
  assert.equal(details['Atbildīgā persona'], 'Anna Testa');
});

test('new-system form names the wrong fields in Latvian; the language switch makes the UI English', async (t) => {
  const server = await freshServer(t);
  const page = await newPage(browser, server);
  await signIn(page, server, VID_ADMIN, '/systems/new');
  assert.equal(pathOf(page), '/systems/new');

  const fillWrong = async (codeLabel, rpoLabel) => {
    await page.getByLabel(codeLabel).fill('ERR-1');
    // Chromium lets nobody type letters into <input type="number">, so make
    // this one a text field to send "abc" as a script or another browser could.
    const rpo = page.getByLabel(rpoLabel);
    await rpo.evaluate((el) => el.setAttribute('type', 'text'));
    await rpo.fill('abc');
  };
  await fillWrong('Kods', 'Atjaunošanas punkta mērķis (RPO)');
  await page.getByLabel('Atbildīgā persona').fill('Anna Testa');
  await clickAndWait(page, page.getByRole('button', { name: 'Saglabāt' }));

  const summary = page.getByRole('alert');
  await summary.waitFor();
  const summaryText = await summary.innerText();
  assert.match(summaryText, /Lūdzu, izlabojiet kļūdas/);
  assert.match(summaryText, /Nosaukums: obligāts lauks/);
  assert.match(summaryText, /Atjaunošanas punkta mērķis \(RPO\): jābūt veselam skaitlim/);
  // The summary links to the fields, which are marked invalid and described by their error.
  for (const [field, id] of [['Nosaukums', 'f-name'], ['Atjaunošanas punkta mērķis (RPO)', 'f-rpo_minutes']]) {
    assert.equal(await summary.getByRole('link', { name: new RegExp(`^${field.replace(/[()]/g, '\\$&')}:`) }).getAttribute('href'), `#${id}`);
    assert.equal(await page.locator(`#${id}`).getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator(`#${id}`).getAttribute('aria-describedby'), /e-/);
  }
  // What was typed stays in the form.
  assert.equal(await page.getByLabel('Kods').inputValue(), 'ERR-1');

  // Switch to English from the header.
  await clickAndWait(page, page.getByRole('link', { name: 'English' }));
  assert.equal(await pageLang(page), 'en');
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await nav.getByRole('link', { name: 'Information systems' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Latviski' }).getAttribute('lang'), 'lv');

  // The same mistakes, now reported in English.
  await page.goto('/systems/new');
  await fillWrong('Code', 'Recovery point objective (RPO)');
  await clickAndWait(page, page.getByRole('button', { name: 'Save' }));
  const english = await page.getByRole('alert').innerText();
  assert.match(english, /Please correct the errors/);
  assert.match(english, /Name: required/);
  assert.match(english, /Recovery point objective \(RPO\): must be a whole number/);
});

test('a wrong TOTP code gives a clear error and the browser stays on /mfa', async (t) => {
  const server = await freshServer(t);
  const page = await newPage(browser, server);
  const login = account(server, VID_ADMIN);

  await submitPassword(page, login);
  assert.equal(pathOf(page), '/mfa');
  const response = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/mfa'));
  await submitCode(page, wrongCode(login.totp_secret));
  assert.equal((await response).status(), 422);
  assert.equal(pathOf(page), '/mfa');

  const alert = await page.getByRole('alert').innerText();
  assert.match(alert, /Kods ir nepareizs vai jau izmantots/);
  assert.equal(await page.getByLabel('Kods').getAttribute('aria-invalid'), 'true');

  // Still not signed in: the portal sends the browser back to the second factor.
  await page.goto('/systems');
  assert.equal(pathOf(page), '/mfa');
});

test('tenant isolation: the PMLP admin sees none of VID\'s systems and gets 404 for a VID system', async (t) => {
  const server = await freshServer(t);

  // VID's admin lists VID's systems.
  const vid = await newPage(browser, server);
  await signIn(vid, server, VID_ADMIN, '/systems');
  const vidSystems = await systemRows(vid);
  assert.ok(vidSystems.length >= 3, `VID has systems: ${JSON.stringify(vidSystems)}`);
  assert.ok(vidSystems.every((s) => s.institution === 'VID'));

  // PMLP's admin, in a separate browser context.
  const pmlp = await newPage(browser, server);
  await signIn(pmlp, server, PMLP_ADMIN, '/systems');
  assert.equal(pathOf(pmlp), '/systems');
  const pmlpRows = await systemRows(pmlp);
  assert.ok(pmlpRows.length > 0, 'PMLP sees its own systems');
  assert.ok(pmlpRows.every((s) => s.institution === 'PMLP'), JSON.stringify(pmlpRows));
  const leaked = pmlpRows.filter((s) => vidSystems.some((v) => v.href === s.href || v.code === s.code));
  assert.deepEqual(leaked, []);
  assert.doesNotMatch(await pmlp.locator('main table').innerText(), /\bVID\b/);

  // Even asking for VID's systems by institution or by code shows none.
  await vid.goto(vidSystems[0].href);
  const institutionLink = await vid.locator('dl.details a[href^="/institutions/"]').getAttribute('href');
  const vidInstitution = institutionLink.split('/').pop();
  for (const query of [`institution_id=${vidInstitution}`, `q=${encodeURIComponent(vidSystems[0].code)}`]) {
    const response = await pmlp.goto(`/systems?${query}`);
    assert.equal(response.status(), 200, query);
    assert.equal(await pmlp.locator('main table tbody tr').count(), 0, query);
  }

  // VID's system URLs are not found, not forbidden: their existence is not revealed.
  for (const suffix of ['', '/edit']) {
    const response = await pmlp.goto(vidSystems[0].href + suffix);
    assert.equal(response.status(), 404, `${vidSystems[0].href}${suffix}`);
    await pmlp.getByRole('heading', { level: 1, name: 'Nav atrasts' }).waitFor();
    assert.doesNotMatch(await pmlp.locator('main').innerText(), new RegExp(vidSystems[0].code));
  }
});
