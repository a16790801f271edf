import type { DeviceRegistrationResult } from '@gatehouse/protocol';

/**
 * What a successful `register()` resolves with: the `registrationState` of the final DPS
 * answer, exactly what the Azure SDK's `register()` resolves with (PROTOCOL.md §1.7), with the
 * two fields a device needs next made non-optional. Extra fields the server sends are kept.
 *
 * @example
 * ```ts
 * import { ProvisioningClient, type RegistrationResult } from '@gatehouse/device';
 * const result: RegistrationResult = await provisioning.register();
 * console.log(result.assignedHub, result.deviceId, result.status, result.substatus, result.payload);
 * ```
 */
export interface RegistrationResult extends DeviceRegistrationResult {
  /** Host name of the hub the device was assigned to: what it connects to next. */
  assignedHub: string;
  /** The device's id in that hub. */
  deviceId: string;
  /** Always `assigned` for a resolved registration. */
  status: 'assigned';
}
