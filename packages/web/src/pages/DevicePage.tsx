export function DevicePage({ id }: { id: string }) {
  return (
    <section>
      <h1>Device {id}</h1>
    </section>
  );
}
