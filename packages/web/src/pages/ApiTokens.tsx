export function ApiTokens() {
  return (
    <section>
      <h1>API tokens</h1>
    </section>
  );
}
