#!/usr/bin/env node
// `npm run docs:errors`: write docs/errors.md from the code's error tables.
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './errors-doc.js';

const target = new URL('../../../../docs/errors.md', import.meta.url);
writeFileSync(target, renderErrorsDoc());
console.log(`wrote ${target.pathname}`);
