// The 12 checks of graphql-cop (dolevf/graphql-cop), re-done in Node against
// a production-mode server at URL. Each prints PASS or a FINDING; any finding
// fails the run.
const url = process.argv[2];

async function post(body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, text, json };
}
const gql = (query) => post({ query });
const data = (r) => (r.json && !Array.isArray(r.json) ? r.json.data : null);

const checks = {
  // Many aliases of one field in one document.
  'alias overloading': async () => {
    const aliases = Array.from({ length: 101 }, (_, i) => `alias${i}:__typename`).join('\n');
    const r = await gql(`query cop { ${aliases} }`);
    return data(r)?.alias100 !== undefined;
  },
  // An array of operations in one request.
  'array-based batching': async () => {
    const r = await post(JSON.stringify(Array.from({ length: 10 }, () => ({ query: 'query cop { __typename }' }))));
    return Array.isArray(r.json) && r.json.length >= 10;
  },
  // The same directive many times on a field, each reported separately.
  'directive overloading': async () => {
    const r = await gql(`query cop { __typename ${'@aa'.repeat(10)} }`);
    return (r.json?.errors?.length ?? 0) >= 10;
  },
  // One field repeated hundreds of times.
  'field duplication': async () => {
    const r = await gql(`query cop { ${'__typename \n'.repeat(500)} }`);
    return data(r)?.__typename !== undefined;
  },
  'introspection': async () => {
    const r = await gql('query cop { __schema { types { name fields { name } } } }');
    return Boolean(data(r)?.__schema);
  },
  // "Did you mean …?" leaks the schema even without introspection.
  'field suggestions': async () => {
    const r = await gql('query cop { __schema { directive } }');
    const r2 = await gql('query cop { complaintz { id } }');
    return [r, r2].some((x) => (x.json?.errors ?? []).some((e) => /did you mean/i.test(e.message)));
  },
  'GET query (CSRF)': async () => {
    const r = await fetch(`${url}?query=${encodeURIComponent('query cop { __typename }')}`);
    const json = await r.json().catch(() => null);
    return r.status === 200 && json?.data?.__typename !== undefined;
  },
  'GET mutation': async () => {
    const r = await fetch(`${url}?query=${encodeURIComponent('mutation cop { __typename }')}`);
    const json = await r.json().catch(() => null);
    return json?.data?.__typename !== undefined;
  },
  'POST url-encoded (CSRF)': async () => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${encodeURIComponent('query cop { __typename }')}`,
    });
    const json = await r.json().catch(() => null);
    return r.status === 200 && json?.data?.__typename !== undefined;
  },
  'tracing': async () => {
    const r = await gql('query cop { __typename }');
    return Boolean(r.json?.extensions?.tracing || r.json?.extensions?.ftv1);
  },
  'GraphiQL in production': async () => {
    const r = await fetch(url, { headers: { accept: 'text/html' } });
    const text = await r.text();
    return r.status === 200 && /graphiql|graphql playground|altair/i.test(text);
  },
  // Internal details (stack traces, SQL, source paths) in error messages.
  'unhandled errors / stack traces': async () => {
    const probes = [
      await post('{"query": "qwerty cop { abc }"}'),
      await post('{"query": 42}'),
      await post('{"query": "query { complaint(id: \\"\\u0000\\") { id } }"}'),
      await post('not json'),
    ];
    return probes.some((r) => /exception|traceback|stack|panicked|\.rs:\d|sqlx|sqlite|postgres/i.test(r.text));
  },
  'circular introspection': async () => {
    const r = await gql('query cop { __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }');
    return Boolean(data(r)?.__schema);
  },
};

let findings = 0;
for (const [name, check] of Object.entries(checks)) {
  let finding;
  try {
    finding = await check();
  } catch (error) {
    console.log(`  ERROR ${name}: ${error}`);
    findings += 1;
    continue;
  }
  if (finding) findings += 1;
  console.log(`  ${finding ? 'FINDING' : 'pass   '} ${name}`);
}
console.log(`graphql-cop checks: ${Object.keys(checks).length} run, ${findings} findings`);
process.exit(findings === 0 ? 0 : 1);
