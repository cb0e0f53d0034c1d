// Ordering as people do it (issue 3 §10), in headless Chromium: a VID
// member orders VMs for the category A system EDS from its placement page;
// the IS owner and the institution admin approve (four eyes); the Broker and
// the institution sign the agreement; the simulator provisions the VMs and
// the order turns active; the auditor finds every step in the audit log.

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

function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** The order page's "Statuss" value. */
async function orderState(page) {
  const details = Object.fromEntries(
    await page.locator('dl.details dt').evaluateAll((dts) => dts.map((dt) => [dt.innerText, dt.nextElementSibling.innerText])),
  );
  return details['Statuss'];
}

async function decide(page, orderUrl, reason) {
  await page.goto(orderUrl);
  await page.getByRole('heading', { name: 'Jūsu lēmums' }).waitFor();
  await page.getByLabel('Apstiprināt', { exact: true }).check();
  await page.getByLabel('Pamatojums').fill(reason);
  await clickAndWait(page, page.getByRole('button', { name: 'Iesniegt lēmumu' }));
  await page.getByRole('status').filter({ hasText: 'Apstiprināts.' }).waitFor();
}

async function sign(page, agreementUrl) {
  await page.goto(agreementUrl);
  await clickAndWait(page, page.getByRole('button', { name: 'Parakstīt elektroniski' }));
  await page.getByRole('status').filter({ hasText: 'Parakstīts.' }).waitFor();
}

test('a category A order: four eyes approve, both sides sign, the VMs turn active, the audit log shows it all', async (t) => {
  const server = await startServer();
  t.after(server.stop);

  // The member finds where EDS may go and orders the best-ranked offering.
  const member = await newPage(browser, server);
  await signIn(member, server, 'darbinieks@vid.gov.lv', '/systems?q=EDS');
  await clickAndWait(member, member.getByRole('link', { name: 'EDS', exact: true }));
  await clickAndWait(member, member.getByRole('link', { name: 'Kur izvietot šo sistēmu?' }));
  await member.getByLabel('Pakalpojuma veids').selectOption('vm');
  await member.getByLabel('Daudzums').fill('2');
  await member.getByLabel('Vismaz vCPU').fill('4');
  await clickAndWait(member, member.getByRole('button', { name: 'Meklēt piemērotos' }));
  const excluded = await member.locator('ul.exclusions li').allInnerTexts();
  assert.ok(excluded.some((e) => e.includes('EuroCloud / Frankfurt') && e.includes('datiem jāpaliek Latvijā')), excluded.join('\n'));
  assert.ok(excluded.some((e) => e.includes('IeM IC / Rīga-2') && e.includes('derīgums beidzās')), excluded.join('\n'));
  const best = member.locator('main table tbody tr').first();
  const [, provider, site, offering] = await best.locator('td').allInnerTexts();
  assert.ok(['LVRTC', 'IeM IC'].includes(provider), `ranked first: ${provider}`);
  await clickAndWait(member, best.getByRole('button', { name: /^Pasūtīt/ }));
  assert.match(pathOf(member), /^\/orders\/[0-9a-f-]{36}$/);
  const orderUrl = pathOf(member);
  const orderId = orderUrl.split('/').pop();
  assert.equal(await orderState(member), 'Apstiprināšanā');
  assert.match(await member.locator('main').innerText(), /četru acu princips: A kategorija, kritiskā infrastruktūra/);
  assert.equal(await member.getByRole('heading', { name: 'Jūsu lēmums' }).count(), 0, 'the requester gets no decision form');

  // First approver: the IS owner, from the approvals inbox.
  const owner = await newPage(browser, server);
  await signIn(owner, server, 'parzinis@vid.gov.lv', '/approvals');
  await owner.locator(`main a[href="${orderUrl}"]`).waitFor();
  await decide(owner, orderUrl, 'EDS sezonai vajadzīgs');
  assert.equal(await orderState(owner), 'Apstiprināšanā', 'one approval is not enough for four eyes');
  assert.equal(await owner.getByRole('heading', { name: 'Jūsu lēmums' }).count(), 0, 'nobody decides twice');

  // Second approver: the institution admin.
  const admin = await newPage(browser, server);
  await signIn(admin, server, 'admin@vid.gov.lv');
  await decide(admin, orderUrl, 'Budžetā paredzēts');
  assert.equal(await orderState(admin), 'Apstiprināts');
  const agreementUrl = await admin.getByRole('link', { name: 'Atvērt līgumu' }).getAttribute('href');

  // Both sides sign the agreement; provisioning starts.
  const broker = await newPage(browser, server);
  await signIn(broker, server, 'brokeris@vdaa.gov.lv');
  await sign(broker, agreementUrl);
  await sign(admin, agreementUrl);
  assert.match(await admin.locator('main').innerText(), /Spēkā/);

  // The simulator builds the VMs in a few seconds.
  const deadline = Date.now() + 30_000;
  let state;
  do {
    await member.goto(orderUrl);
    state = await orderState(member);
    if (state === 'Aktīvs') break;
    await member.waitForTimeout(500);
  } while (Date.now() < deadline);
  assert.equal(state, 'Aktīvs', `the order stayed ${state}`);
  const resource = await member.locator('main code.id').first().innerText();
  assert.match(resource, /^sim-/);

  // The auditor sees every step of this order in the audit chain.
  const auditor = await newPage(browser, server);
  await signIn(auditor, server, 'revidents@varam.gov.lv', `/audit?target_id=${orderId}`);
  const actions = await auditor.locator('main table tbody tr td:nth-child(4)').allInnerTexts();
  for (const wanted of ['order.create', 'order.submit', 'order.approve', 'order.provisioning', 'order.active']) {
    assert.ok(actions.includes(wanted), `audit log lacks ${wanted}: ${actions.join(', ')}`);
  }
  assert.equal(actions.filter((a) => a === 'order.approve').length, 2);
  t.diagnostic(`ordered ${offering} at ${provider} / ${site}; resource ${resource}`);
});
