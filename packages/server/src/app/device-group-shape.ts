/** The REST object of a device group (EXPORT_RULES.md §5.1), apart from the service so the web app can import it as a type. */
export interface DeviceGroup {
  id: string;
  displayName: string;
  /** The device query: `SELECT * FROM devices WHERE …` (app/device-query.ts). */
  filter: string;
  description?: string;
  etag: string;
}
