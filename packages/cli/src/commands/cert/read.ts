import { basename } from 'node:path';
import {
  PkiError,
  readCertificates,
  readPrivateKey,
  type Certificate,
  type PrivateKey,
} from '@gatehouse/pki';
import { readInputFile } from '../../files.js';

/** Runs a PKI read and puts the file name in front of any PkiError message, keeping its code. */
function naming<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof PkiError) {
      throw new PkiError(err.code, `${basename(path)}: ${err.message}`, err.detail, { cause: err });
    }
    throw err;
  }
}

/** Every certificate in a file (PEM bundle with junk lines such as `null`, DER, base64). */
export function readCertificateFile(path: string, what: string): Certificate[] {
  const data = readInputFile(path, what);
  return naming(path, () => readCertificates(data));
}

/** The private key in a file (PKCS#1, PKCS#8 or SEC1 PEM, or DER PKCS#8). */
export function readKeyFile(path: string, what: string): PrivateKey {
  const data = readInputFile(path, what);
  return naming(path, () => readPrivateKey(data));
}
