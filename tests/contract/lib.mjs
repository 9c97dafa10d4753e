// The publish contract's files (docs/api/publish.schema.json, tests/contract/publish/*.json) and
// validators compiled from the schema with Ajv, for the contract tests of the hub and the Node
// emitter.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path) => JSON.parse(readFileSync(`${root}${path}`, 'utf8'));

export const schema = read('docs/api/publish.schema.json');
export const requests = read('tests/contract/publish/requests.json').cases;
export const scenarios = read('tests/contract/publish/answers.json').scenarios;

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
ajv.addSchema(schema);
const compile = (pointer) => ajv.getSchema(`${schema.$id}${pointer}`);

/** Validators: request (the body of POST /api/v1/emit), accepted (202), error (any refusal). */
export const validate = {
  request: compile(''),
  accepted: compile('#/$defs/accepted'),
  error: compile('#/$defs/error'),
};

export const explain = (validator) => ajv.errorsText(validator.errors);
