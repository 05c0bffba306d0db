// The XML layer: a location on every element and attribute (1-based, at the `<` / the attribute name, columns
// in code points), whatever the line endings, indentation or characters before it; malformed XML and stray
// text become located diagnostics, never exceptions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDiagnostic } from "../../src/errors.ts";
import { parseXml, type XmlElement } from "../../src/sdf/xml.ts";
import { parseSystem } from "../../src/sdf/index.ts";

function tree(text: string): XmlElement {
  const result = parseXml(text, "t.xml");
  assert.ok(result.ok, result.ok ? "" : result.diagnostics.map(formatDiagnostic).join("\n"));
  return result.root;
}

/** `name@line:col` for the element and each attribute, depth first. */
function where(el: XmlElement): string[] {
  const here = `${el.name}@${el.location.line}:${el.location.column}`;
  const attributes = [...el.attributes.values()].map((a) => `  ${a.name}=${a.value}@${a.location.line}:${a.location.column}`);
  return [here, ...attributes, ...el.children.flatMap(where)];
}

function problems(text: string): string[] {
  const result = parseXml(text, "t.xml");
  return result.diagnostics.map(formatDiagnostic);
}

describe("locations", () => {
  test("spaces, tabs and a start tag spread over several lines", () => {
    assert.deepEqual(where(tree('<system>\n\t<a x="1"  y=\'2\'/>  <b\n     z = "3"\n  >\n</b></system>')), [
      "system@1:1",
      "a@2:2",
      "  x=1@2:5",
      "  y=2@2:12",
      "b@2:21",
      "  z=3@3:6",
    ]);
  });

  test("CRLF and lone CR end lines; the CR is never a column", () => {
    assert.deepEqual(where(tree('<system>\r\n  <a\r\n  x="1"/>\r  <b/>\r\n</system>')), ["system@1:1", "a@2:3", "  x=1@3:3", "b@4:3"]);
  });

  test("characters beyond the BMP count once, a byte-order mark not at all", () => {
    assert.deepEqual(where(tree('\uFEFF<system><!-- 😀😀 --><a q="😀"/><b/></system>')), ["system@1:1", "a@1:20", "  q=😀@1:23", "b@1:30"]);
  });

  test("the XML declaration, comments, a DOCTYPE and processing instructions move nothing", () => {
    assert.deepEqual(where(tree('<?xml version="1.0"?>\n<!DOCTYPE system>\n<!-- <fake/> -->\n<system><?pi data?>\n  <a/></system>')), [
      "system@4:1",
      "a@5:3",
    ]);
  });

  test("attribute values are decoded; a '>' or a quote inside a value does not confuse the scan", () => {
    assert.deepEqual(where(tree(`<system><a b="x&amp;y" c='>"' d=">" e="&#65;"/></system>`)), [
      "system@1:1",
      "a@1:9",
      "  b=x&y@1:12",
      "  c=>\"@1:24",
      "  d=>@1:31",
      "  e=A@1:37",
    ]);
  });

  test("the channel of ch_bidirectional_ppc.system sits at 14:5", () => {
    const text = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<!--",
      " Copyright 2024, UNSW",
      "",
      " SPDX-License-Identifier: BSD-2-Clause",
      "-->",
      "<system>",
      '    <protection_domain name="test1">',
      '        <program_image path="test" />',
      "    </protection_domain>",
      '    <protection_domain name="test2">',
      '        <program_image path="test" />',
      "    </protection_domain>",
      "    <channel>",
    ].join("\n");
    const channel = tree(`${text}</channel></system>`).children[2];
    assert.deepEqual([channel?.name, channel?.location.line, channel?.location.column], ["channel", 14, 5]);
  });
});

describe("problems are located diagnostics, never exceptions", () => {
  const table: [string, string, string[]][] = [
    ["empty input", "", ["t.xml:1:1: error: Could not parse 't.xml': document must contain a root element."]],
    ["only whitespace", "  \n ", ["t.xml:2:2: error: Could not parse 't.xml': document must contain a root element."]],
    ["truncated inside a tag (located where the input stops)", "<system>\n  <a", ["t.xml:2:5: error: Could not parse 't.xml': unclosed tag: system"]],
    ["unclosed root", "<system>\n", ["t.xml:2:1: error: Could not parse 't.xml': unclosed tag: system"]],
    ["mismatched close", "<system>\n  <a></b>\n</system>", ["t.xml:2:9: error: Could not parse 't.xml': unexpected close tag."]],
    ["unquoted value", "<system>\n  <a x=1/>\n</system>", ["t.xml:2:8: error: Could not parse 't.xml': unquoted attribute value."]],
    ["duplicate attribute", '<system a="1" a="2"/>', ["t.xml:1:21: error: Could not parse 't.xml': duplicate attribute: a."]],
    ["undefined entity", "<system>&nbsp;</system>", ["t.xml:1:14: error: Could not parse 't.xml': undefined entity."]],
    ["two roots", "<system/><system/>", ["t.xml:1:17: error: Could not parse 't.xml': documents may contain only one root."]],
    ["text outside the root", "junk", ["t.xml:1:4: error: Could not parse 't.xml': text data outside of root node."]],
  ];
  for (const [what, text, expected] of table) {
    test(what, () => {
      assert.deepEqual(problems(text), expected);
    });
  }

  test("text inside any element, at its first non-blank character; CDATA counts as text", () => {
    assert.deepEqual(problems("<system>\n  <a>\n    hello\n  </a> tail\n  <b><![CDATA[x]]></b><c>&#32;</c>\n</system>"), [
      "t.xml:3:5: error: unexpected text found in element 'a' @ t.xml:2:3",
      "t.xml:4:8: error: unexpected text found in element 'system' @ t.xml:1:1",
      "t.xml:5:6: error: unexpected text found in element 'b' @ t.xml:5:3",
    ]);
  });

  test("through parseSystem: a root that is not <system>", () => {
    const result = parseSystem("<?xml version='1.0'?>\n<sytsem/>", "r.system");
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), ["r.system:2:1: error: root element must be 'system', got 'sytsem'"]);
  });
});
