export function GroupPage({ id }: { id: string }) {
  return (
    <section>
      <h1>Enrollment group {id}</h1>
    </section>
  );
}
