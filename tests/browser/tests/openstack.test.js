// A provider's own catalogue in the portal (issue 6), in headless Chromium:
// the demo registers the OpenStack running on this machine as LVRTC-OS;
// LVRTC's operator opens the provider and syncs its catalogue with Nova's
// flavours; the result page and the catalogue show them; axe finds no
// serious or critical violation. Skipped without the OpenStack peer
// (scripts/peers/openstack-up), unless MAKONIS_REQUIRE_PEERS=1.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { audit, report } from '../lib/axe.js';
import { clickAndWait, launchBrowser, newPage, signIn, startServer } from '../lib/harness.js';

const peerEnv = path.join(
  process.env.MAKONIS_OPENSTACK_DIR || '/var/tmp/makonis-peers/openstack',
  'openstack.env',
);
const havePeer = existsSync(peerEnv);
if (!havePeer && process.env.MAKONIS_REQUIRE_PEERS === '1') {
  throw new Error(`the OpenStack peer is required (MAKONIS_REQUIRE_PEERS=1): no ${peerEnv}`);
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('openstack: the operator syncs the provider catalogue from the portal', { skip: !havePeer && `no ${peerEnv}` }, async (t) => {
  const server = await startServer(['--with-openstack']);
  t.after(server.stop);
  const page = await newPage(browser, server);
  await signIn(page, server, 'operators@lvrtc.lv', '/providers');
  await clickAndWait(page, page.getByRole('link', { name: 'LVRTC-OS', exact: true }));
  await page.getByRole('heading', { name: /LVRTC OpenStack/, level: 1 }).waitFor();

  await clickAndWait(page, page.getByRole('button', { name: 'Sinhronizēt katalogu' }));
  await page.getByRole('heading', { name: 'Kataloga sinhronizācija: LVRTC-OS', level: 1 }).waitFor();
  // The demo synced at start; a second sync finds its flavours (and, with
  // Cinder in the catalogue, its volume types) as they are.
  const body = await page.locator('main').innerText();
  const unchanged = Number(body.match(/(\d+) piedāvājumi nav mainījušies/)?.[1]);
  assert.ok(unchanged >= 4, body);
  const { failing, other } = await audit(page);
  if (other.length) t.diagnostic(report('catalogue sync', other));
  assert.equal(failing.length, 0, report('catalogue sync', failing));

  await page.goto('/catalogue?q=m1.small');
  const rows = await page.locator('table tbody tr').allInnerTexts();
  assert.ok(rows.some((r) => r.includes('LVRTC-OS') && r.includes('m1.small')), rows.join('\n'));

  // A customer sees the provider but not the sync form.
  const customer = await newPage(browser, server);
  await signIn(customer, server, 'darbinieks@vid.gov.lv', '/providers');
  await clickAndWait(customer, customer.getByRole('link', { name: 'LVRTC-OS', exact: true }));
  assert.equal(await customer.getByRole('button', { name: 'Sinhronizēt katalogu' }).count(), 0);
});
