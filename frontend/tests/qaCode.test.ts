import { describe, expect, it } from 'vitest';
import { findCode, highlightCode } from '../src/lib/qaCode';

const subject = 'Image Line Account | Two Factor Authentication code ( 048213 ) [Action Required]';

describe('the code in a QA message', () => {
  it('comes from the subject first', () => {
    expect(findCode(subject, 'Order 999999 is unrelated.')).toBe('048213');
  });

  it('falls back to the first six-digit number in the text', () => {
    expect(findCode('Your code', 'Use 123456 within 10 minutes. Ref 1234567.')).toBe('123456');
  });

  it('accepts a code written with a space', () => {
    expect(findCode('Your code', 'Use 123 456 now.')).toBe('123456');
  });

  it('is null for a notice without a code', () => {
    expect(findCode('Two-factor authentication turned off', 'It was turned off at 12:00.')).toBeNull();
  });

  it('is marked wherever it appears on its own', () => {
    expect(highlightCode('Code 048213. Again: 048213! Not 1048213.', '048213')).toEqual([
      { text: 'Code ', code: false },
      { text: '048213', code: true },
      { text: '. Again: ', code: false },
      { text: '048213', code: true },
      { text: '! Not 1048213.', code: false },
    ]);
  });

  it('leaves the text whole without a code', () => {
    expect(highlightCode('hello', null)).toEqual([{ text: 'hello', code: false }]);
  });
});
