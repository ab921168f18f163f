// Starts the vendored GraphiQL (React, ReactDOM and GraphiQL are UMD globals loaded before
// this file); kept out of the page so the CSP needs no inline script.
(function boot() {
  const fetcher = window.GraphiQL.createFetcher({ url: "/graphql" });
  const root = window.ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    window.React.createElement(window.GraphiQL, { fetcher, defaultEditorToolsVisibility: true }),
  );
})();
