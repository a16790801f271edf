export function TemplatePage({ id }: { id: string }) {
  return (
    <section>
      <h1>Device template {id}</h1>
    </section>
  );
}
