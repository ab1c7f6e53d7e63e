// GraphiQL for casework, served from the binary (no CDN). Sign in with the
// `login` mutation, then put its accessToken in the Headers editor:
// {"authorization": "Bearer <accessToken>"}. Headers are not persisted.
(async function () {
  const root = document.getElementById('graphiql');
  document.body.style.margin = '0';
  root.style.height = '100vh';

  let config = { demo: false, demoAccounts: [] };
  try {
    config = await (await fetch('/console/config.json')).json();
  } catch (_) { /* not fatal: no demo hints */ }
  const email = config.demo && config.demoAccounts.length ? config.demoAccounts[0].email : 'you@example.com';
  const password = config.demoPassword || 'your password';

  const defaultQuery = `# casework GraphiQL. To sign in:
#  1. run "Login" below (Ctrl-Enter, then pick it),
#  2. copy its accessToken into Headers (bottom): {"authorization": "Bearer <accessToken>"},
#  3. run "Me".
# The console is at /console.

mutation Login {
  login(email: "${email}", password: "${password}") { accessToken expiresAt user { email role } }
}

query Me {
  me { email displayName role }
  complaints(first: 5) { totalCount edges { node { reference status title } } }
}
`;

  const inner = GraphiQL.createFetcher({ url: '/graphql' });
  // The preset header "Bearer " (no token yet) is dropped, so Login runs unauthenticated.
  const fetcher = (params, opts) => {
    const headers = Object.assign({}, (opts && opts.headers) || {});
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'authorization' && String(headers[name]).trim().replace(/^Bearer\s*/i, '') === '') {
        delete headers[name];
      }
    }
    return inner(params, Object.assign({}, opts, { headers }));
  };

  // Our own introspection query: type references nested four deep (enough for
  // `[X!]!`), so it passes the server's depth limit, which GraphiQL's stock
  // introspection query (nine levels of `ofType`) does not.
  const typeRef = 'kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }';
  const inputValue = `name description type { ${typeRef} } defaultValue isDeprecated deprecationReason`;
  const introspection = `query CaseworkIntrospection { __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { kind name description specifiedByURL
      fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ${inputValue} } type { ${typeRef} } isDeprecated deprecationReason }
      inputFields(includeDeprecated: true) { ${inputValue} }
      interfaces { ${typeRef} }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ${typeRef} } }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ${inputValue} } } } }`;
  let schema;
  try {
    const response = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: introspection }) });
    const body = await response.json();
    if (body.data) schema = body.data;
  } catch (_) { /* GraphiQL then tries its own */ }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      schema,
      defaultQuery,
      defaultHeaders: '{\n  "authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    }),
  );
})();
