// Must load before @peculiar/x509: tsyringe, which it uses, needs the Reflect metadata API.
import 'reflect-metadata';

export { PkiError, PKI_ERROR_CODES, PKI_ERROR_DESCRIPTIONS, type PkiErrorCode } from './errors.js';
export { PrivateKey, readPrivateKey, type KeySpec } from './keys.js';
export { Certificate } from './certificate.js';
export { readCertificates, readCertificate, readHandshakeCertificate } from './read.js';
export {
  createRootCa,
  createIntermediateCa,
  createDeviceCertificate,
  createVerificationCertificate,
  createServerCertificate,
  type Issuer,
  type Issued,
  type CommonOptions,
} from './generate.js';
export { validateChain, type ValidateChainOptions, type ValidatedChain } from './chain.js';
export { checkProofOfPossession, isValidNonce } from './proof-of-possession.js';
