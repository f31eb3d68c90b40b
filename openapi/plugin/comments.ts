import type { AnyDesc, DescFile } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";

/** A proto comment as plain text: the one space after `//` removed, blank edges trimmed. */
export function cleanComment(text: string | undefined): string {
  if (!text) return "";
  return text
    .split("\n")
    .map((line) => line.replace(/^ /, "").trimEnd())
    .join("\n")
    .trim();
}

/** The leading and trailing comments of an element (empty when it has none or no source info). */
export function describe(desc: Exclude<AnyDesc, DescFile>): string {
  if (!fileOf(desc).proto.sourceCodeInfo) return "";
  const c = getComments(desc);
  return [cleanComment(c.leading), cleanComment(c.trailing)].filter((s) => s !== "").join("\n\n");
}

/** The first sentence of a comment's first paragraph, on one line. */
export function firstSentence(text: string): string {
  const paragraph = text.split(/\n\s*\n/)[0].replace(/\s*\n\s*/g, " ").trim();
  const end = paragraph.search(/\.(\s|$)/);
  return end >= 0 ? paragraph.slice(0, end + 1) : paragraph;
}

function fileOf(desc: Exclude<AnyDesc, DescFile>): DescFile {
  switch (desc.kind) {
    case "field":
    case "oneof":
    case "enum_value":
    case "rpc":
      return desc.parent.file;
    default:
      return desc.file;
  }
}
