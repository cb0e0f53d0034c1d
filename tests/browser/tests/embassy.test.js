// The data embassy in the portal (issue 5 §9), in headless Chromium: the
// embassy custodian sees the registry (EDS healthy, MIS with its RPO
// exceeded), opens EDS's drill report, runs a drill and a replication, and
// asks for a key-release grant that the custodian cannot approve alone; the
// security officer's approval is not enough either; a member of VID is
// refused the registry.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { clickAndWait, launchBrowser, newPage, signIn, startServer } from '../lib/harness.js';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('the embassy registry shows RPO and drills, runs them on demand, and grants need two people', async (t) => {
  const server = await startServer();
  t.after(server.stop);

  const custodian = await newPage(browser, server);
  await signIn(custodian, server, 'glabatajs@vdaa.gov.lv', '/embassy');
  await custodian.getByRole('heading', { name: 'Datu vēstniecība', level: 1 }).waitFor();
  const rows = await custodian.locator('table tbody tr').allInnerTexts();
  const eds = rows.find((r) => r.startsWith('EDS'));
  const mis = rows.find((r) => r.startsWith('MIS'));
  assert.ok(eds, `EDS missing from ${rows}`);
  assert.ok(mis, `MIS missing from ${rows}`);
  assert.match(eds, /Luxembourg/);
  assert.match(eds, /Kārtībā/, 'EDS is healthy');
  assert.match(mis, /RPO pārsniegts/, 'MIS backups are three hours old against a 15-minute RPO');

  await clickAndWait(custodian, custodian.getByRole('link', { name: /^EDS/ }));
  await custodian.getByRole('heading', { name: 'Datu vēstniecība: EDS' }).waitFor();
  const drillsBefore = await custodian.locator('table:has(caption:text("Atjaunošanas mācības")) tbody tr').count();
  assert.ok(drillsBefore >= 1, 'the demo ran a drill at seed time');

  await clickAndWait(custodian, custodian.getByRole('button', { name: 'Veikt atjaunošanas mācības tagad' }));
  await custodian.getByRole('status').filter({ hasText: 'Atjaunošanas mācības izdevās.' }).waitFor();
  const drills = await custodian.locator('table:has(caption:text("Atjaunošanas mācības")) tbody tr').allInnerTexts();
  assert.equal(drills.length, drillsBefore + 1);
  assert.match(drills[0], /Izdevās/);
  assert.match(drills[0], /restored 2 files/);

  await clickAndWait(custodian, custodian.getByRole('button', { name: 'Replicēt tagad' }));
  await custodian.getByRole('status').filter({ hasText: 'Replicēšana pabeigta.' }).waitFor();

  // A key-release grant: the requester cannot approve it.
  await custodian.getByLabel('Izsniegt krātuves atslēgu').check();
  await custodian.getByLabel('Pamatojums').fill('Atjaunošana ārpus Latvijas pēc incidenta');
  await clickAndWait(custodian, custodian.getByRole('button', { name: 'Pieprasīt atļauju' }));
  await custodian.getByRole('status').filter({ hasText: 'Atļauja pieprasīta' }).waitFor();
  const grants = await custodian.locator('table:has(caption:text("Četru acu atļaujas")) tbody tr').allInnerTexts();
  assert.match(grants[0], /Gaida apstiprinājumus/);
  assert.equal(await custodian.getByRole('button', { name: 'Apstiprināt' }).count(), 0, 'no approve button for the requester');

  // The security officer approves; one approval is not a grant.
  const officer = await newPage(browser, server);
  await signIn(officer, server, 'drosiba@cert.lv', '/embassy');
  await clickAndWait(officer, officer.getByRole('button', { name: 'Apstiprināt' }).first());
  await officer.getByRole('status').filter({ hasText: 'Apstiprinājums reģistrēts.' }).waitFor();
  const after1 = await officer.locator('table:has(caption:text("Četru acu atļaujas")) tbody tr').allInnerTexts();
  assert.match(after1[0], /Gaida apstiprinājumus/, 'a custodian must approve too, and the requester may not');

  // VID's member is not cleared.
  const member = await newPage(browser, server);
  await signIn(member, server, 'darbinieks@vid.gov.lv', '/embassy');
  const response = await member.goto(`${server.url}/embassy`);
  assert.equal(response.status(), 403);
});
