// The .system parser's suites live in tests/sdf/; `npm test` globs tests/*.test.ts only, so this file brings
// them in (node:test registers a suite when its module is imported). Run them alone with
// `node --import tsx --test tests/sdf/*.test.ts`.
import "./sdf/fixtures.test.ts";
import "./sdf/numbers.test.ts";
import "./sdf/property.test.ts";
import "./sdf/rules.test.ts";
import "./sdf/summary.test.ts";
import "./sdf/xml.test.ts";
