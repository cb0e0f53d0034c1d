// Costs in the portal (issue 4 §7), in headless Chromium: VID's institution admin sees cost per month as a server-drawn SVG
// chart with its numbers in a table, usage per month in each billing unit
// drawn and tabled the same way, switches the split to providers, sees
// the budget past its first threshold and last month's statement, and opens
// the printable statement; axe finds no serious or critical violation. A
// provider operator may not read VID's costs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { audit, report } from '../lib/axe.js';
import { clickAndWait, launchBrowser, newPage, signIn, startServer } from '../lib/harness.js';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('costs: chart with a data table, budgets, statements, printable statement', async (t) => {
  const server = await startServer();
  t.after(server.stop);
  const page = await newPage(browser, server);
  await signIn(page, server, 'admin@vid.gov.lv', '/costs');
  await page.getByRole('heading', { name: 'Izmaksas', level: 1 }).waitFor();
  // Drawn on the server: the chart and its table are in the HTML itself.
  const html = await (await page.request.get('/costs')).text();
  assert.ok(html.includes('<svg') && html.includes('<table'), 'chart and table without JavaScript');

  const chart = page.getByRole('img', { name: /Izmaksas mēnesī pa/ });
  await chart.waitFor();
  assert.ok((await chart.locator('rect[fill]').count()) > 3, 'stacked bars drawn');
  const table = page.locator('table:has(caption:text("Izmaksas mēnesī"))');
  const header = await table.locator('thead th').allInnerTexts();
  for (const code of ['EDS', 'MIS', 'NRS']) assert.ok(header.includes(code), `${code} in ${header}`);
  const rows = await table.locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 6, 'six months');

  // Usage trends: one chart and table per billing unit, from the bills'
  // quantities. Last month (growth 1.08): EDS 5840 + 1460 instance-hours,
  // MIS 2190, NRS 2920, each × 1.08 and rounded; storage likewise.
  await page.getByRole('heading', { name: 'Patēriņš pa mēnešiem', level: 2 }).waitFor();
  for (const [unit, lastMonth] of [
    ['Instance-Hours', ['7884', '2365', '3154', '13403']],
    ['GB-Months', ['4320', '12960', '1620', '18900']],
  ]) {
    const usageChart = page.getByRole('img', { name: `${unit} mēnesī pa informācijas sistēma` });
    await usageChart.waitFor();
    assert.ok((await usageChart.locator('rect[fill] > title').count()) >= 3, `${unit}: bars with titles`);
    assert.ok(html.includes(`${unit} mēnesī pa`), `${unit} chart in the HTML itself`);
    const usageTable = page.locator(`table:has(caption:text-is("${unit} mēnesī pa informācijas sistēma"))`);
    assert.deepEqual(
      await usageTable.locator('thead th').allInnerTexts(),
      ['Mēnesis', 'EDS', 'MIS', 'NRS', 'Kopā'],
      unit,
    );
    const usageRows = usageTable.locator('tbody tr');
    assert.equal(await usageRows.count(), 6, `${unit}: six months`);
    assert.deepEqual(await usageRows.nth(4).locator('td').allInnerTexts(), lastMonth, `${unit}, last month`);
  }

  await clickAndWait(page, page.getByRole('link', { name: 'pakalpojumu sniedzējs' }));
  const byProvider = await page.locator('table:has(caption:text("Izmaksas mēnesī")) thead th').allInnerTexts();
  assert.ok(byProvider.includes('LVRTC') && byProvider.includes('LAD'), `${byProvider}`);
  const hoursByProvider = page.locator(
    'table:has(caption:text-is("Instance-Hours mēnesī pa pakalpojumu sniedzējs")) tbody tr',
  );
  assert.deepEqual(await hoursByProvider.nth(4).locator('td').allInnerTexts(), ['2365', '11038', '13403']);

  const budget = await page.locator('table:has(caption:text("Budžeti")) tbody tr').first().innerText();
  assert.match(budget, /50 %/, 'the first threshold was crossed');

  const { failing } = await audit(page);
  assert.equal(failing.length, 0, report('/costs', failing));

  const statement = page.locator('table:has(caption:text("Izsniegtie pārskati")) tbody tr a').first();
  await clickAndWait(page, statement);
  await page.getByRole('heading', { name: /Pārskats par/ }).waitFor();
  const total = await page.locator('tfoot td').allInnerTexts();
  assert.match(total[1], /^\d+\.\d\d$/);
  const printable = await audit(page);
  assert.equal(printable.failing.length, 0, report('statement', printable.failing));

  const opPage = await newPage(browser, server);
  await signIn(opPage, server, 'operators@lvrtc.lv');
  const response = await opPage.goto('/costs');
  assert.equal(response.status(), 404, 'an operator reads no costs of the institution');
});
