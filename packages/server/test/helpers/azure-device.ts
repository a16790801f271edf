import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface AzureProvisionResult {
  ok: boolean;
  result?: {
    assignedHub: string;
    deviceId: string;
    registrationId: string;
    status: string;
    substatus?: string;
    x509?: Record<string, unknown>;
    payload?: unknown;
  };
  error?: { name: string; message: string; code?: unknown; result?: unknown };
}

/** Run the real Azure SDK's ProvisioningDeviceClient in a child process (see azure-provision.ts). */
export function runAzureProvision(options: {
  caPath: string;
  idScope: string;
  registrationId: string;
  certFile?: string;
  keyFile?: string;
  symmetricKey?: string;
  transport?: 'mqtt' | 'mqttws' | 'http';
  payload?: unknown;
  host?: string;
  timeoutMs?: number;
}): Promise<AzureProvisionResult> {
  const script = fileURLToPath(new URL('./azure-provision.js', import.meta.url));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: options.caPath,
    DPS_HOST: options.host ?? 'localhost',
    DPS_ID_SCOPE: options.idScope,
    DPS_REGISTRATION_ID: options.registrationId,
  };
  if (options.certFile) env['DPS_CERT_FILE'] = options.certFile;
  if (options.keyFile) env['DPS_KEY_FILE'] = options.keyFile;
  if (options.symmetricKey) env['DPS_SYMMETRIC_KEY'] = options.symmetricKey;
  if (options.transport) env['DPS_TRANSPORT'] = options.transport;
  if (options.payload !== undefined) env['DPS_PAYLOAD'] = JSON.stringify(options.payload);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the Azure device did not finish in time; stderr: ${err}`));
    }, options.timeoutMs ?? 45_000);
    child.on('exit', () => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as AzureProvisionResult);
      } catch {
        reject(new Error(`the Azure device printed no result (stdout: ${out}; stderr: ${err})`));
      }
    });
  });
}
