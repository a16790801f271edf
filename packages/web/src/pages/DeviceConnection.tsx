export function DeviceConnection() {
  return (
    <section>
      <h1>Device connection</h1>
    </section>
  );
}
