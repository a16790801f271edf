export function Users() {
  return (
    <section>
      <h1>Users</h1>
    </section>
  );
}
