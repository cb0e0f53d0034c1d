// axe-core in the page under test. The portal's CSP forbids page scripts
// (script-src 'none'), so axe is not added as a <script> tag: its source is
// evaluated through the DevTools protocol (page.evaluate), which CSP does
// not govern. The page keeps its real CSP, so styles load exactly as for a
// person.

import axe from 'axe-core';

/** Impacts that fail the suite. */
export const FAILING = new Set(['serious', 'critical']);

/**
 * Runs every axe rule that is on by default (WCAG 2.0/2.1/2.2 A and AA and
 * best practices) on the current page. Returns the violations that fail
 * the suite and the ones that do not.
 */
export async function audit(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(axe.source);
  }
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  const failing = result.violations.filter((v) => FAILING.has(v.impact));
  const other = result.violations.filter((v) => !FAILING.has(v.impact));
  return { failing, other };
}

/** A readable report of violations on one page. */
export function report(where, violations) {
  const lines = [];
  for (const v of violations) {
    lines.push(`[${v.impact}] ${v.id} on ${where}: ${v.help} (${v.helpUrl})`);
    for (const node of v.nodes.slice(0, 10)) {
      lines.push(`    ${node.target.join(' ')}`);
      lines.push(`      ${node.html.slice(0, 300)}`);
      const why = node.failureSummary?.split('\n').map((s) => s.trim()).filter(Boolean).join(' / ');
      if (why) lines.push(`      ${why}`);
    }
    if (v.nodes.length > 10) lines.push(`    … and ${v.nodes.length - 10} more nodes`);
  }
  return lines.join('\n');
}
