// The six single-digit boxes of the verification code: pure state transitions, so the
// component only wires DOM events to them and moves focus where they say.

export const CODE_LENGTH = 6;

/** One entry per box: '' or a single digit. */
export type Digits = readonly string[];

/** Next state of the boxes and the box that should have focus. */
export interface Edit {
  digits: string[];
  focus: number;
}

export function emptyDigits(): string[] {
  return Array.from({ length: CODE_LENGTH }, () => '');
}

/** Only the ASCII digits of text, in order ("123 456" -> "123456", "12a3" -> "123"). */
export function digitsIn(text: string): string {
  return text.replace(/[^0-9]/g, '');
}

function clampIndex(i: number): number {
  return Math.min(CODE_LENGTH - 1, Math.max(0, i));
}

/**
 * A pasted text that holds a whole code ("123456", "123 456", "Code: 123-456", or longer:
 * the first six digits). Returns null when it holds fewer than six digits.
 */
export function codeFromPaste(text: string): string | null {
  const d = digitsIn(text);
  return d.length >= CODE_LENGTH ? d.slice(0, CODE_LENGTH) : null;
}

/**
 * Puts the digits of text into the boxes. A whole code fills every box whichever box
 * received it; a shorter run fills boxes from `index` onwards. Non-digits are ignored.
 */
export function insertText(digits: Digits, index: number, text: string): Edit {
  const whole = codeFromPaste(text);
  if (whole !== null) {
    return { digits: whole.split(''), focus: CODE_LENGTH - 1 };
  }
  const d = digitsIn(text);
  const next = [...digits];
  if (d.length === 0) return { digits: next, focus: clampIndex(index) };
  let i = clampIndex(index);
  for (const ch of d) {
    if (i >= CODE_LENGTH) break;
    next[i] = ch;
    i++;
  }
  return { digits: next, focus: clampIndex(i) };
}

/** A digit typed into box `index` replaces its content and moves on to the next box. */
export function typeDigit(digits: Digits, index: number, key: string): Edit {
  if (!/^[0-9]$/.test(key)) return { digits: [...digits], focus: clampIndex(index) };
  const next = [...digits];
  const i = clampIndex(index);
  next[i] = key;
  return { digits: next, focus: clampIndex(i + 1) };
}

/** Backspace clears the box, or when it is already empty, the previous box and goes there. */
export function backspace(digits: Digits, index: number): Edit {
  const next = [...digits];
  const i = clampIndex(index);
  if (next[i] !== '') {
    next[i] = '';
    return { digits: next, focus: i };
  }
  const prev = clampIndex(i - 1);
  next[prev] = '';
  return { digits: next, focus: prev };
}

/** Delete clears the box and stays. */
export function clearBox(digits: Digits, index: number): Edit {
  const next = [...digits];
  const i = clampIndex(index);
  next[i] = '';
  return { digits: next, focus: i };
}

/** Arrow keys move between boxes without changing them. */
export function moveFocus(index: number, delta: number): number {
  return clampIndex(index + delta);
}

export function isComplete(digits: Digits): boolean {
  return digits.length === CODE_LENGTH && digits.every((d) => /^[0-9]$/.test(d));
}

export function joinCode(digits: Digits): string {
  return digits.join('');
}

/** The first empty box, or the last box when all are filled. */
export function firstEmpty(digits: Digits): number {
  const i = digits.findIndex((d) => d === '');
  return i === -1 ? CODE_LENGTH - 1 : i;
}
