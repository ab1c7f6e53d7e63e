// graphql-http's server audits (the GraphQL-over-HTTP spec) against URL.
// Every MUST has to pass; SHOULD/MAY results are printed for the README.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = await Promise.all(serverAudits({ url, fetchFn: fetch }).map((audit) => audit.fn()));
let mustFailures = 0;
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  if (result.status === 'ok') continue;
  const must = result.name.startsWith('MUST');
  if (must) mustFailures += 1;
  console.log(`  ${must ? 'FAIL' : 'note'} [${result.status}] ${result.name}: ${result.reason}`);
}
console.log(`graphql-http audits: ${results.length} run, ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors, ${mustFailures} MUST failures`);
process.exit(mustFailures === 0 ? 0 : 1);
