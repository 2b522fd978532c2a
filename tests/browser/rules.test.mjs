// The page's field rules (web/rules.js) against the shared table the
// server's parsers are tested with (tests/field-rules.json): the page
// refuses exactly what the server refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { checkField } from "../../web/rules.js";

const table = JSON.parse(
  readFileSync(new URL("../field-rules.json", import.meta.url), "utf8"),
);

test("the page's rules agree with the server's on every shared case", () => {
  const disagreements = table.cases
    .filter(({ field, value, valid }) => (checkField(field, value) === null) !== valid)
    .map(({ field, value, valid }) => `${field} ${JSON.stringify(value)}: server ${valid ? "accepts" : "refuses"}`);
  assert.deepEqual(disagreements, []);
  assert.ok(table.cases.length >= 40);
});
