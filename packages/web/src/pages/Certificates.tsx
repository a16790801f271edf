export function Certificates() {
  return (
    <section>
      <h1>Certificates</h1>
    </section>
  );
}
