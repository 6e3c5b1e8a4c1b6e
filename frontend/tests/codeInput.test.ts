import { describe, expect, it } from 'vitest';
import {
  backspace,
  clearBox,
  codeFromPaste,
  digitsIn,
  emptyDigits,
  firstEmpty,
  insertText,
  isComplete,
  joinCode,
  moveFocus,
  typeDigit,
} from '../src/lib/codeInput';

const filled = (s: string) => s.split('').map((c) => (c === '_' ? '' : c));

describe('pasting a code', () => {
  it.each([
    ['plain digits', '123456', '123456'],
    ['with a space in the middle', '123 456', '123456'],
    ['with surrounding whitespace and a newline', '  123456\n', '123456'],
    ['with letters, which are ignored', 'a1b2c3d4e5f6', '123456'],
    ['inside a sentence', 'Your code is 654 321.', '654321'],
    ['with a dash', '123-456', '123456'],
    ['more than six digits: the first six', '12345678', '123456'],
    ['leading zeros kept', '000056', '000056'],
  ])('%s fills every box', (_name, text, code) => {
    expect(codeFromPaste(text)).toBe(code);
    for (const index of [0, 3, 5]) {
      const edit = insertText(emptyDigits(), index, text);
      expect(joinCode(edit.digits)).toBe(code);
      expect(isComplete(edit.digits)).toBe(true);
      expect(edit.focus).toBe(5);
    }
  });

  it('replaces digits already typed', () => {
    const edit = insertText(filled('98____'), 2, '123456');
    expect(joinCode(edit.digits)).toBe('123456');
  });

  it('a shorter run fills from the box that received it', () => {
    const edit = insertText(filled('9_____'), 1, '12');
    expect(edit.digits).toEqual(filled('912___'));
    expect(edit.focus).toBe(3);
    expect(isComplete(edit.digits)).toBe(false);
  });

  it('a shorter run stops at the last box', () => {
    const edit = insertText(emptyDigits(), 4, '789');
    expect(edit.digits).toEqual(filled('____78'));
    expect(edit.focus).toBe(5);
  });

  it('text without digits changes nothing', () => {
    expect(codeFromPaste('abc')).toBeNull();
    expect(codeFromPaste('12345')).toBeNull();
    const edit = insertText(filled('1_____'), 1, 'hello');
    expect(edit.digits).toEqual(filled('1_____'));
    expect(edit.focus).toBe(1);
  });

  it('digitsIn keeps ASCII digits only', () => {
    expect(digitsIn('1 2\t3-4a5٦6')).toBe('123456');
  });
});

describe('typing', () => {
  it('a digit fills the box and moves to the next', () => {
    let d = emptyDigits();
    let focus = 0;
    for (const key of '123456') {
      ({ digits: d, focus } = typeDigit(d, focus, key));
    }
    expect(joinCode(d)).toBe('123456');
    expect(focus).toBe(5);
  });

  it('a digit replaces what the box held', () => {
    expect(typeDigit(filled('123456'), 2, '9').digits).toEqual(filled('129456'));
  });

  it('a letter is ignored', () => {
    const edit = typeDigit(filled('1_____'), 1, 'x');
    expect(edit.digits).toEqual(filled('1_____'));
    expect(edit.focus).toBe(1);
  });

  it('backspace clears a filled box and stays', () => {
    expect(backspace(filled('123___'), 2)).toEqual({ digits: filled('12____'), focus: 2 });
  });

  it('backspace on an empty box clears the previous one and moves back', () => {
    expect(backspace(filled('123___'), 3)).toEqual({ digits: filled('12____'), focus: 2 });
  });

  it('backspace on the first empty box stays there', () => {
    expect(backspace(emptyDigits(), 0)).toEqual({ digits: emptyDigits(), focus: 0 });
  });

  it('delete clears the box', () => {
    expect(clearBox(filled('123456'), 5)).toEqual({ digits: filled('12345_'), focus: 5 });
  });

  it('arrows stay within the boxes', () => {
    expect(moveFocus(0, -1)).toBe(0);
    expect(moveFocus(5, 1)).toBe(5);
    expect(moveFocus(2, 1)).toBe(3);
  });

  it('firstEmpty finds the next box to type into', () => {
    expect(firstEmpty(filled('12_4__'))).toBe(2);
    expect(firstEmpty(filled('123456'))).toBe(5);
  });
});
