export { ImportService, checkIdScope, type ImportRequest, type ImportFile } from './import-service.js';
export { IMPORT_ERRORS } from './errors.js';
export { IMPORT_FORMATS, type ImportPlan, type PlanItem, type ImportFormat } from './plan.js';
