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

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultQuery,
      defaultHeaders: '{\n  "authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    }),
  );
})();
