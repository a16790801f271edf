export function Devices() {
  return (
    <section>
      <h1>Devices</h1>
    </section>
  );
}
