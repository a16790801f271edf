export function Templates() {
  return (
    <section>
      <h1>Device templates</h1>
    </section>
  );
}
