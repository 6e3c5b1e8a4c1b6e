// Finds the verification code in a QA inbox message and marks it in the text.

/** The 6-digit code of a message: the one in the subject's "( 123456 )", else the first in the text. */
export function findCode(subject: string, text: string): string | null {
  const inSubject = /\(\s*(\d{6})\s*\)/.exec(subject);
  if (inSubject?.[1]) return inSubject[1];
  const inText = /(?<!\d)(\d{6})(?!\d)/.exec(text);
  if (inText?.[1]) return inText[1];
  const spaced = /(?<!\d)(\d{3}) (\d{3})(?!\d)/.exec(text);
  if (spaced?.[1] && spaced[2]) return spaced[1] + spaced[2];
  return null;
}

export interface Segment {
  text: string;
  code: boolean;
}

/** Splits text into runs, with every standalone occurrence of code flagged. */
export function highlightCode(text: string, code: string | null): Segment[] {
  if (!code) return [{ text, code: false }];
  const re = new RegExp(`(?<!\\d)${code}(?!\\d)`, 'g');
  const out: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ text: text.slice(last, at), code: false });
    out.push({ text: code, code: true });
    last = at + code.length;
  }
  if (last < text.length) out.push({ text: text.slice(last), code: false });
  return out.length ? out : [{ text, code: false }];
}
