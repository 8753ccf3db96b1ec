// Reads nara's JSON API; every call resolves to data or throws an Error naming the route.
export async function fetchStatus() {
  const response = await fetch("/api/status", { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`/api/status answered ${response.status}`);
  return response.json();
}
